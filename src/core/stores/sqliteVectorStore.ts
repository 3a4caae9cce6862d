import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type sqlite3 from 'sqlite3';
import { allSql, openSqlite, runSql } from './sqliteConnection';
import { readSnapshot, removeSnapshot, writeSnapshot } from './vectorSnapshot';
import { toBatch, type StoredIndex, type StoredVector, type VectorSpace, type VectorStore } from './vectorStore';

const LOG = 'semantic_log';
const META = 'semantic_meta';
/** Compact once this many batches accumulate in the log, or dead vectors outnumber live ones. */
const MAX_LOG_BATCHES = 64;

interface LogRow {
  ids: string;
  partition_keys: string;
  partition_of: Buffer;
  scales: Buffer;
  codes: Buffer;
  bits: Buffer | null;
  removed: string;
}

/** A string as an SQL literal, for the statements of a transaction run in one exec (which binds no parameters). */
function sqlText(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A copy whose buffer starts at offset 0: a Buffer from SQLite need not be aligned for a typed-array view. */
function aligned(bytes: Buffer): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}

/**
 * Vectors as a snapshot file plus a log in the cache's SQLite database.
 * Each batch of changes is one log row (ids, partitions, int8 codes, scales and
 * sign bits as blobs, removed ids), committed in one transaction. Compaction
 * writes every live vector to a new snapshot file (atomically, by rename), then
 * points the database at it and empties the log in one transaction, so a crash
 * at any moment leaves a consistent pair. Loading reads the snapshot with one
 * readFile (a checksum rejects a truncated or corrupt file) and replays the short
 * log: 100k vectors open in a fraction of a second, where reading them row by row
 * through SQLite costs several times more. About 0.5 KB an entry for 384 dimensions.
 */
export class SqliteVectorStore implements VectorStore {
  private logBatches = 0;
  private liveCount = 0;
  private writtenCount = 0;

  private constructor(
    private readonly db: sqlite3.Database,
    private readonly file: string,
  ) {}

  static async open(file: string): Promise<SqliteVectorStore> {
    const db = await openSqlite(file);
    const store = new SqliteVectorStore(db, file);
    await store.run('PRAGMA journal_mode=WAL');
    await store.run('PRAGMA synchronous=NORMAL');
    await store.run(
      `CREATE TABLE IF NOT EXISTS ${LOG} (seq INTEGER PRIMARY KEY AUTOINCREMENT, ids TEXT NOT NULL, partition_keys TEXT NOT NULL, partition_of BLOB NOT NULL, scales BLOB NOT NULL, codes BLOB NOT NULL, bits BLOB, removed TEXT NOT NULL)`,
    );
    await store.run(`CREATE TABLE IF NOT EXISTS ${META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    return store;
  }

  private run(sql: string, ...params: unknown[]): Promise<void> {
    return runSql(this.db, sql, params);
  }

  private all<T>(sql: string, ...params: unknown[]): Promise<T[]> {
    return allSql<T>(this.db, sql, params);
  }

  private async meta(key: string): Promise<string | undefined> {
    const [row] = await this.all<{ value: string }>(`SELECT value FROM ${META} WHERE key = ?`, key);
    return row?.value;
  }

  private snapshotPath(name: string): string {
    return join(dirname(this.file), name);
  }

  async space(): Promise<VectorSpace | undefined> {
    const model = await this.meta('model');
    const dimension = Number(await this.meta('dimension'));
    return model && Number.isInteger(dimension) ? { model, dimension } : undefined;
  }

  async reset(space: VectorSpace): Promise<void> {
    await this.transaction([
      `DELETE FROM ${LOG}`,
      `DELETE FROM ${META} WHERE key = 'snapshot'`,
      `INSERT OR REPLACE INTO ${META} (key, value) VALUES ('model', ${sqlText(space.model)}), ('dimension', ${sqlText(String(space.dimension))})`,
    ]);
    await this.removeStaleSnapshots(undefined);
    this.logBatches = 0;
    this.liveCount = 0;
    this.writtenCount = 0;
  }

  /**
   * The snapshot, then the log. A snapshot that is missing, truncated or corrupt
   * is an error: the caller drops the vectors and rebuilds them from the stored entries.
   */
  async loadAll(): Promise<StoredIndex> {
    const snapshotName = await this.meta('snapshot');
    const batches: StoredIndex['batches'] = [];
    let centre: Float32Array | undefined;
    if (snapshotName) {
      const snapshot = await readSnapshot(this.snapshotPath(snapshotName));
      batches.push(snapshot.batch);
      centre = snapshot.centre;
    }
    const rows = await this.all<LogRow>(`SELECT ids, partition_keys, partition_of, scales, codes, bits, removed FROM ${LOG} ORDER BY seq`);
    for (const row of rows) {
      batches.push({
        ids: JSON.parse(row.ids) as string[],
        partitionKeys: JSON.parse(row.partition_keys) as string[],
        partitionOf: new Uint32Array(aligned(row.partition_of)),
        scales: new Float32Array(aligned(row.scales)),
        codes: new Int8Array(row.codes.buffer, row.codes.byteOffset, row.codes.byteLength),
        bits: row.bits ? new Int32Array(aligned(row.bits)) : undefined,
        removed: JSON.parse(row.removed) as string[],
      });
    }
    this.logBatches = rows.length;
    this.writtenCount = batches.reduce((sum, batch) => sum + batch.ids.length, 0);
    this.liveCount = this.writtenCount - batches.reduce((sum, batch) => sum + (batch.removed?.length ?? 0), 0);
    return { batches, centre };
  }

  async write(puts: StoredVector[], removals: string[]): Promise<void> {
    if (puts.length === 0 && removals.length === 0) return;
    const batch = toBatch(puts);
    await this.run(
      `INSERT INTO ${LOG} (ids, partition_keys, partition_of, scales, codes, bits, removed) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      JSON.stringify(batch.ids),
      JSON.stringify(batch.partitionKeys),
      Buffer.from(batch.partitionOf.buffer),
      Buffer.from(batch.scales.buffer),
      Buffer.from(batch.codes.buffer),
      batch.bits ? Buffer.from(batch.bits.buffer) : null,
      JSON.stringify(removals),
    );
    this.logBatches++;
    this.writtenCount += puts.length;
    this.liveCount += puts.length - removals.length;
  }

  needsCompaction(): boolean {
    return this.logBatches > MAX_LOG_BATCHES || (this.writtenCount > 1024 && this.writtenCount > 2 * Math.max(0, this.liveCount));
  }

  async compact(live: Iterable<StoredVector>, centre: Float32Array | undefined): Promise<void> {
    const vectors = [...live];
    const name = `${basename(this.file)}.vectors-${Date.now().toString(36)}-${process.pid}`;
    await writeSnapshot(this.snapshotPath(name), toBatch(vectors), centre);
    await this.transaction([`DELETE FROM ${LOG}`, `INSERT OR REPLACE INTO ${META} (key, value) VALUES ('snapshot', ${sqlText(name)})`]);
    await this.removeStaleSnapshots(name);
    this.logBatches = 0;
    this.liveCount = vectors.length;
    this.writtenCount = vectors.length;
  }

  /** Deletes snapshot files the database no longer points at (left by a crash mid-compaction). */
  private async removeStaleSnapshots(keep: string | undefined): Promise<void> {
    const prefix = `${basename(this.file)}.vectors-`;
    for (const name of await readdir(dirname(this.file))) {
      if (name.startsWith(prefix) && name !== keep) await removeSnapshot(this.snapshotPath(name));
    }
  }

  /**
   * Runs statements as one transaction in a single call into SQLite. A BEGIN ... COMMIT
   * issued statement by statement would hold the write lock across event-loop turns, while
   * the other connections to this file (exact store, catalog, events) wait for it in SQLite's
   * busy handler, each holding its connection's mutex, which the event loop then blocks on:
   * the transaction could not finish until the busy timeout.
   */
  private async transaction(statements: string[]): Promise<void> {
    try {
      await new Promise<void>((resolve, reject) =>
        this.db.exec(['BEGIN IMMEDIATE', ...statements, 'COMMIT'].join(';\n'), (error) => (error ? reject(error) : resolve())),
      );
    } catch (error) {
      // A statement failed after BEGIN: the transaction is still open.
      await this.run('ROLLBACK').catch(() => {});
      throw error;
    }
  }

  async diskBytes(): Promise<number> {
    const snapshotName = await this.meta('snapshot');
    const snapshot = snapshotName ? ((await stat(this.snapshotPath(snapshotName)).catch(() => undefined))?.size ?? 0) : 0;
    // The log shares the database file with the exact entries: count its pages where SQLite can.
    const rows = await this.all<{ bytes: number | null }>(`SELECT SUM(pgsize) AS bytes FROM dbstat WHERE name = ?`, LOG).catch(
      () => undefined,
    );
    return snapshot + (rows?.[0]?.bytes ?? 0);
  }

  async close(): Promise<void> {
    // Fold the WAL into the database file: the next start-up reads one file, not a long log.
    await this.run('PRAGMA wal_checkpoint(TRUNCATE)').catch(() => {});
    await new Promise<void>((resolve, reject) => this.db.close((error) => (error ? reject(error) : resolve())));
  }
}
