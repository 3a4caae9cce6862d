import type sqlite3 from 'sqlite3';
import { allSql, jsonColumns, openSqlite, runSql } from '../stores/sqliteConnection';
import { WriteBehind } from '../stores/writeBehind';

const FLUSH_DELAY_MS = 100;

interface RegistryBatch {
  adds: Array<[string, number]>;
  removals: string[];
}

/**
 * The team entries this gateway has indexed without holding them locally: their
 * vectors live in the local index, their answers in Redis. Kept beside the cache
 * (a table in the same database) so that start-up repair knows these vectors are
 * not orphans, and so that they are dropped when their entry expires.
 */
export class TeamRegistry {
  private readonly pending = new Map<string, number>();
  private readonly removals = new Set<string>();
  private readonly writes = new WriteBehind<RegistryBatch>({
    delayMs: FLUSH_DELAY_MS,
    take: () => this.takePending(),
    write: (batch) => this.write(batch),
    onError: () => {
      // A lost write costs at most a re-sync: those vectors are dropped at the next start as orphans.
    },
  });

  private constructor(private readonly db: sqlite3.Database) {}

  static async open(file: string | null): Promise<TeamRegistry> {
    const db = await openSqlite(file ?? ':memory:');
    const registry = new TeamRegistry(db);
    await registry.run('CREATE TABLE IF NOT EXISTS team_entries (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)');
    await registry.run('CREATE INDEX IF NOT EXISTS team_entries_expires_at ON team_entries (expires_at)');
    return registry;
  }

  private run(sql: string, ...params: unknown[]): Promise<void> {
    return runSql(this.db, sql, params);
  }

  private all<T>(sql: string, ...params: unknown[]): Promise<T[]> {
    return allSql<T>(this.db, sql, params);
  }

  add(id: string, expiresAt: number): void {
    this.removals.delete(id);
    this.pending.set(id, expiresAt);
    this.writes.schedule();
  }

  remove(ids: Iterable<string>): void {
    for (const id of ids) {
      this.pending.delete(id);
      this.removals.add(id);
    }
    this.writes.schedule();
  }

  async clear(): Promise<void> {
    this.pending.clear();
    this.removals.clear();
    await this.writes.flush();
    await this.run('DELETE FROM team_entries');
  }

  /** Ids not yet expired. */
  async ids(now = Date.now()): Promise<ReadonlySet<string>> {
    await this.flush();
    const rows = await this.all<{ id: string }>('SELECT id FROM team_entries WHERE expires_at > ?', now);
    return new Set(rows.map((row) => row.id));
  }

  /** Removes the expired rows; returns their ids, for the index to forget. */
  async sweepExpired(now = Date.now()): Promise<string[]> {
    await this.flush();
    const rows = await this.all<{ id: string }>('SELECT id FROM team_entries WHERE expires_at <= ?', now);
    if (rows.length) await this.run('DELETE FROM team_entries WHERE expires_at <= ?', now);
    return rows.map((row) => row.id);
  }

  /** Writes what is pending: one statement for the removals, one for the additions. */
  flush(): Promise<void> {
    return this.writes.flush();
  }

  private takePending(): RegistryBatch | undefined {
    if (this.pending.size === 0 && this.removals.size === 0) return undefined;
    const batch: RegistryBatch = { adds: [...this.pending], removals: [...this.removals] };
    this.pending.clear();
    this.removals.clear();
    return batch;
  }

  // Each statement is atomic on its own; no BEGIN ... COMMIT around them, which would hold the
  // database's write lock across event-loop turns while the other connections to this file
  // wait in SQLite's busy handler and block the event loop (see EntryCatalog.write).
  private async write({ adds, removals }: RegistryBatch): Promise<void> {
    if (removals.length) await this.run('DELETE FROM team_entries WHERE id IN (SELECT value FROM json_each(?))', JSON.stringify(removals));
    if (adds.length) {
      await this.run(
        `INSERT OR REPLACE INTO team_entries (id, expires_at) SELECT ${jsonColumns(2)} FROM json_each(?)`,
        JSON.stringify(adds),
      );
    }
  }

  async close(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve) => this.db.close(() => resolve()));
  }
}
