import type sqlite3 from 'sqlite3';
import { allSql, jsonColumns, openSqlite, runSql } from '../stores/sqliteConnection';
import { WriteBehind } from '../stores/writeBehind';
import type { EntryFilterDto, EntryPageDto, EntrySort, EntrySummaryDto } from '../../shared/protocol';

export interface EntryQuery extends EntryFilterDto {
  sort: EntrySort;
  order: 'asc' | 'desc';
  offset: number;
  limit: number;
}

const SORT_COLUMNS: Record<EntrySort, string> = { created: 'created_at', lastHit: 'last_hit_at', hits: 'hits', size: 'size' };
const FLUSH_DELAY_MS = 100;

interface Row {
  id: string;
  endpoint: EntrySummaryDto['endpoint'];
  model: string;
  prompt: string;
  answer: string;
  created_at: number;
  expires_at: number;
  last_hit_at: number | null;
  hits: number;
  size: number;
}

interface CatalogBatch {
  upserts: EntrySummaryDto[];
  touches: Array<[string, { count: number; at: number }]>;
  removals: string[];
}

const toSummary = (row: Row): EntrySummaryDto => ({
  id: row.id,
  endpoint: row.endpoint,
  model: row.model,
  prompt: row.prompt,
  answer: row.answer,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  lastHitAt: row.last_hit_at,
  hits: row.hits,
  size: row.size,
});

/** Escapes LIKE's wildcards in a search string. */
function likePattern(search: string): string {
  return `%${search.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/**
 * The browsable list of entries beside the exact store: prompt and answer
 * previews, hits and last hit, size, for search, sort and paging over thousands
 * of entries. Writes are batched; every read first waits for them.
 * With no file, it keeps the table in an in-memory SQLite database.
 */
export class EntryCatalog {
  private readonly upserts = new Map<string, EntrySummaryDto>();
  private readonly touches = new Map<string, { count: number; at: number }>();
  private readonly removals = new Set<string>();
  private readonly writes = new WriteBehind<CatalogBatch>({
    delayMs: FLUSH_DELAY_MS,
    take: () => this.takePending(),
    write: (batch) => this.write(batch),
    onError: () => {
      // The catalog is an index over the exact store: the next start-up repair rebuilds what is lost.
    },
  });

  private constructor(private readonly db: sqlite3.Database) {}

  static async open(file: string | null): Promise<EntryCatalog> {
    const db = await openSqlite(file ?? ':memory:');
    const catalog = new EntryCatalog(db);
    if (file) {
      await catalog.run('PRAGMA journal_mode=WAL');
      await catalog.run('PRAGMA synchronous=NORMAL');
    }
    // search_text is lower-cased in JavaScript: SQLite's own lower() only knows ASCII.
    await catalog.run(
      'CREATE TABLE IF NOT EXISTS entry_catalog (id TEXT PRIMARY KEY, endpoint TEXT NOT NULL, model TEXT NOT NULL, prompt TEXT NOT NULL, answer TEXT NOT NULL, search_text TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, last_hit_at INTEGER, hits INTEGER NOT NULL DEFAULT 0, size INTEGER NOT NULL)',
    );
    for (const column of ['created_at', 'last_hit_at', 'hits', 'size']) {
      await catalog.run(`CREATE INDEX IF NOT EXISTS entry_catalog_${column} ON entry_catalog (${column})`);
    }
    return catalog;
  }

  private run(sql: string, ...params: unknown[]): Promise<void> {
    return runSql(this.db, sql, params);
  }

  private all<T>(sql: string, ...params: unknown[]): Promise<T[]> {
    return allSql<T>(this.db, sql, params);
  }

  upsert(summary: EntrySummaryDto): void {
    this.removals.delete(summary.id);
    this.touches.delete(summary.id);
    this.upserts.set(summary.id, summary);
    this.writes.schedule();
  }

  /** Counts a hit. */
  touch(id: string, at: number): void {
    const touch = this.touches.get(id) ?? { count: 0, at };
    touch.count++;
    touch.at = at;
    this.touches.set(id, touch);
    this.writes.schedule();
  }

  remove(ids: Iterable<string>): void {
    for (const id of ids) {
      this.upserts.delete(id);
      this.touches.delete(id);
      this.removals.add(id);
    }
    this.writes.schedule();
  }

  async clear(): Promise<void> {
    this.upserts.clear();
    this.touches.clear();
    this.removals.clear();
    await this.writes.flush();
    await this.run('DELETE FROM entry_catalog');
  }

  private where(filter: EntryFilterDto): { sql: string; params: unknown[] } {
    const clauses: string[] = [];
    const params: unknown[] = [];
    if (filter.search?.trim()) {
      clauses.push("search_text LIKE ? ESCAPE '\\'");
      params.push(likePattern(filter.search.trim()));
    }
    if (filter.model) {
      clauses.push('model = ?');
      params.push(filter.model);
    }
    if (filter.endpoint) {
      clauses.push('endpoint = ?');
      params.push(filter.endpoint);
    }
    return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
  }

  async list(query: EntryQuery): Promise<EntryPageDto> {
    await this.flush();
    const { sql, params } = this.where(query);
    const column = SORT_COLUMNS[query.sort];
    const order = query.order === 'asc' ? 'ASC' : 'DESC';
    const [count] = await this.all<{ total: number }>(`SELECT COUNT(*) AS total FROM entry_catalog ${sql}`, ...params);
    const rows = await this.all<Row>(
      `SELECT id, endpoint, model, prompt, answer, created_at, expires_at, last_hit_at, hits, size FROM entry_catalog ${sql} ORDER BY ${column} ${order} NULLS LAST, id LIMIT ? OFFSET ?`,
      ...params,
      query.limit,
      query.offset,
    );
    return { total: count?.total ?? 0, offset: query.offset, items: rows.map(toSummary) };
  }

  async get(id: string): Promise<EntrySummaryDto | undefined> {
    await this.flush();
    const [row] = await this.all<Row>(
      'SELECT id, endpoint, model, prompt, answer, created_at, expires_at, last_hit_at, hits, size FROM entry_catalog WHERE id = ?',
      id,
    );
    return row ? toSummary(row) : undefined;
  }

  /** Ids of every entry a filter matches (for evicting a search's results). */
  async matching(filter: EntryFilterDto): Promise<string[]> {
    await this.flush();
    const { sql, params } = this.where(filter);
    return (await this.all<{ id: string }>(`SELECT id FROM entry_catalog ${sql}`, ...params)).map((row) => row.id);
  }

  async ids(): Promise<Set<string>> {
    await this.flush();
    return new Set((await this.all<{ id: string }>('SELECT id FROM entry_catalog')).map((row) => row.id));
  }

  /** Writes pending changes; resolves when they are in the table (or their write failed). */
  flush(): Promise<void> {
    return this.writes.flush();
  }

  private takePending(): CatalogBatch | undefined {
    if (this.upserts.size === 0 && this.touches.size === 0 && this.removals.size === 0) return undefined;
    const batch: CatalogBatch = { upserts: [...this.upserts.values()], touches: [...this.touches.entries()], removals: [...this.removals] };
    this.upserts.clear();
    this.touches.clear();
    this.removals.clear();
    return batch;
  }

  // One statement per kind of change, its batch passed as JSON, and no BEGIN ... COMMIT around
  // them. A transaction spanning several statements holds the database's write lock across
  // event-loop turns; another connection's write then waits in SQLite's busy handler on a
  // thread-pool thread, holding its connection's mutex, and the event loop blocks on that
  // mutex: the transaction can never finish, and the gateway freezes for the busy timeout.
  private async write({ upserts, touches, removals }: CatalogBatch): Promise<void> {
    if (removals.length) await this.run('DELETE FROM entry_catalog WHERE id IN (SELECT value FROM json_each(?))', JSON.stringify(removals));
    if (upserts.length) {
      const rows = upserts.map((entry) => [
        entry.id,
        entry.endpoint,
        entry.model,
        entry.prompt,
        entry.answer,
        `${entry.prompt}\n${entry.answer}`.toLowerCase(),
        entry.createdAt,
        entry.expiresAt,
        entry.lastHitAt,
        entry.hits,
        entry.size,
      ]);
      await this.run(
        `INSERT OR REPLACE INTO entry_catalog (id, endpoint, model, prompt, answer, search_text, created_at, expires_at, last_hit_at, hits, size)
         SELECT ${jsonColumns(rows[0]!.length)} FROM json_each(?)`,
        JSON.stringify(rows),
      );
    }
    if (touches.length) {
      await this.run(
        `UPDATE entry_catalog SET hits = hits + touch.count, last_hit_at = touch.at
         FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS count, json_extract(value, '$[2]') AS at FROM json_each(?)) AS touch WHERE entry_catalog.id = touch.id`,
        JSON.stringify(touches.map(([id, touch]) => [id, touch.count, touch.at])),
      );
    }
  }

  async close(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve) => this.db.close(() => resolve()));
  }
}
