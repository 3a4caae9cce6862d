import sqlite3 from 'sqlite3';

/**
 * Opens a connection to one of the cache's SQLite files the way each of its parts does: the
 * exact store, the catalog, the vectors, the events and the team registry share the file, so
 * a write waits up to 5 s for another's lock, and statements on a connection run in order.
 */
export async function openSqlite(file: string): Promise<sqlite3.Database> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const opened = new sqlite3.Database(file, (error) => (error ? reject(error) : resolve(opened)));
  });
  db.configure('busyTimeout', 5000);
  db.serialize();
  return db;
}

/** Runs a statement; resolves when it is done. */
export function runSql(db: sqlite3.Database, sql: string, params: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => db.run(sql, params, (error) => (error ? reject(error) : resolve())));
}

/** Runs a query; resolves with its rows. */
export function allSql<T>(db: sqlite3.Database, sql: string, params: unknown[]): Promise<T[]> {
  return new Promise((resolve, reject) => db.all(sql, params, (error, rows) => (error ? reject(error) : resolve(rows as T[]))));
}

/**
 * The columns of a batch passed as one JSON array of rows (`... SELECT <these> FROM json_each(?)`):
 * item i of each row, for i below `count`. One statement then writes the whole batch.
 */
export function jsonColumns(count: number): string {
  return Array.from({ length: count }, (_, i) => `json_extract(value, '$[${i}]')`).join(', ');
}
