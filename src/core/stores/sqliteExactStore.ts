import { chmod } from 'node:fs/promises';
import Keyv from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import type { CacheEntry } from '../types';
import type { ExactStore } from './exactStore';

const NAMESPACE = 'deja';
const TABLE = 'exact_entries';

export interface SqliteExactStoreOptions {
  /** Path of the SQLite database file. */
  file: string;
  /** Called when the store reports an error outside a call (a failed background write). */
  onError?: (error: unknown) => void;
}

/**
 * The exact store: keyv over @keyv/sqlite, one row per entry, absolute TTL.
 * It keeps the set of stored ids in memory, so that a miss (the common case of
 * a new prompt) costs no database round trip. The set assumes this process is
 * the database's only writer, as one gateway per data directory is; an entry
 * written by another process is at worst a miss, never a wrong answer.
 */
export class SqliteExactStore implements ExactStore {
  private constructor(
    private readonly keyv: Keyv<CacheEntry>,
    private readonly sqlite: KeyvSqlite,
    private readonly storedIds: Set<string>,
  ) {}

  /** Opens (or creates) the database; rejects with a clear error when it cannot. */
  static async open(options: SqliteExactStoreOptions): Promise<SqliteExactStore> {
    const sqlite = new KeyvSqlite({ uri: `sqlite://${options.file}`, table: TABLE, busyTimeout: 5000 });
    // Entries are plain JSON; keyv's default serializer adds a reviver pass we do not need.
    const keyv = new Keyv<CacheEntry>({
      store: sqlite,
      namespace: NAMESPACE,
      throwOnErrors: true,
      serialize: JSON.stringify,
      deserialize: (raw: string) => JSON.parse(raw),
    });
    const onError = options.onError ?? (() => {});
    keyv.on('error', onError);
    sqlite.on('error', onError);
    try {
      // WAL lets readers go on while a write commits; NORMAL sync is safe against a
      // killed process (the WAL survives), which is the failure a local cache sees.
      await sqlite.query('PRAGMA journal_mode=WAL');
      await sqlite.query('PRAGMA synchronous=NORMAL');
    } catch (error) {
      throw new Error(`cannot open the cache database ${options.file}: ${(error as Error).message}`);
    }
    await chmod(options.file, 0o600).catch(() => {});
    const rows = (await sqlite.query(`SELECT key FROM ${TABLE} WHERE key LIKE ?`, `${NAMESPACE}:%`)) as Array<{ key: string }>;
    const ids = new Set(rows.map((row) => row.key.slice(NAMESPACE.length + 1)));
    return new SqliteExactStore(keyv, sqlite, ids);
  }

  /** How many entries the database holds (expired ones not yet swept included). */
  get size(): number {
    return this.storedIds.size;
  }

  async get(id: string): Promise<CacheEntry | undefined> {
    if (!this.storedIds.has(id)) return undefined;
    const entry = await this.keyv.get(id);
    if (entry === undefined || entry === null) return undefined;
    if (typeof entry !== 'object' || entry.version !== 1 || entry.id !== id) return undefined;
    return entry.expiresAt > Date.now() ? entry : undefined;
  }

  async set(entry: CacheEntry): Promise<void> {
    const ttl = entry.expiresAt - Date.now();
    if (ttl <= 0) return;
    const known = this.storedIds.has(entry.id);
    this.storedIds.add(entry.id);
    try {
      await this.keyv.set(entry.id, entry, ttl);
    } catch (error) {
      // A failed write (a full disk) must not leave an id that no row backs.
      if (!known) this.storedIds.delete(entry.id);
      throw error;
    }
  }

  async delete(id: string): Promise<boolean> {
    this.storedIds.delete(id);
    return this.keyv.delete(id);
  }

  async clear(): Promise<void> {
    this.storedIds.clear();
    await this.keyv.clear();
  }

  /** A snapshot of the stored ids. */
  async ids(): Promise<ReadonlySet<string>> {
    return new Set(this.storedIds);
  }

  async sweepExpired(now: number): Promise<string[]> {
    const prefix = `${NAMESPACE}:`;
    const rows = (await this.sqlite.query(
      `SELECT key FROM ${TABLE} WHERE key LIKE ? AND json_extract(value, '$.expires') <= ?`,
      `${prefix}%`,
      now,
    )) as Array<{ key: string }>;
    if (rows.length === 0) return [];
    const keys = rows.map((row) => row.key);
    await this.sqlite.query(`DELETE FROM ${TABLE} WHERE key IN (SELECT value FROM json_each(?))`, JSON.stringify(keys));
    const ids = keys.map((key) => key.slice(prefix.length));
    for (const id of ids) this.storedIds.delete(id);
    return ids;
  }

  async close(): Promise<void> {
    await this.keyv.disconnect();
  }
}
