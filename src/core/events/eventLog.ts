import type sqlite3 from 'sqlite3';
import { allSql, jsonColumns, openSqlite, runSql } from '../stores/sqliteConnection';
import { WriteBehind } from '../stores/writeBehind';
import {
  DEV_TOOLS,
  SEMANTIC_DECISIONS,
  type DevToolDto,
  type RequestEventDto,
  type SemanticDecisionDto,
  type SkippedPageDto,
  type SkippedRequestDto,
  type SpanDto,
} from '../../shared/protocol';
import type { RevalidationRecord } from '../metrics';

/** What a request leaves behind; the log assigns the id. */
export type NewRequestEvent = Omit<RequestEventDto, 'id'> & {
  /** For skipped requests: the prompt text and the span that made the policy skip it. */
  prompt?: string | null;
  span?: SpanDto | null;
};

export interface EventLogOptions {
  /** SQLite database file; null keeps events in memory only. */
  file: string | null;
  /** Events older than this are deleted. */
  retentionDays: number;
  /** At most this many events are kept on disk. */
  maxEvents: number;
  /** Recent events kept in memory, for stats without a database read. */
  memoryEvents: number;
}

export const DEFAULT_EVENT_LOG: Omit<EventLogOptions, 'file'> = { retentionDays: 30, maxEvents: 500_000, memoryEvents: 50_000 };

/** A skipped prompt is kept for the dashboard, up to this many characters. */
const MAX_PROMPT_CHARS = 16_000;
const FLUSH_DELAY_MS = 250;
const PRUNE_INTERVAL_MS = 10 * 60_000;

interface EventRow {
  id: number;
  at: number;
  endpoint: RequestEventDto['endpoint'];
  model: string;
  outcome: RequestEventDto['outcome'];
  reason: string | null;
  rule: string | null;
  similarity: number | null;
  upstream_ms: number | null;
  gateway_ms: number;
  prompt_tokens: number;
  completion_tokens: number;
  entry_id: string | null;
  status: number;
  stream: number;
  prompt: string | null;
  span: string | null;
  tier: string | null;
  tool: string | null;
  decision: string | null;
}

interface CheckRow {
  at: number;
  entry_id: string;
  stale: number;
  similarity: number | null;
}

interface EventBatch {
  events: SkippedRequestDto[];
  checks: RevalidationRecord[];
}

function checkFromRow(row: CheckRow): RevalidationRecord {
  const check: RevalidationRecord = { at: row.at, entryId: row.entry_id, stale: row.stale === 1 };
  if (row.similarity !== null) check.similarity = row.similarity;
  return check;
}

function fromRow(row: EventRow): SkippedRequestDto {
  return {
    id: row.id,
    at: row.at,
    endpoint: row.endpoint,
    model: row.model,
    outcome: row.outcome,
    reason: row.reason,
    rule: row.rule,
    similarity: row.similarity,
    upstreamMs: row.upstream_ms,
    gatewayMs: row.gateway_ms,
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    entryId: row.entry_id,
    status: row.status,
    stream: row.stream === 1,
    prompt: row.prompt,
    span: row.span ? (JSON.parse(row.span) as SpanDto) : null,
    tier: row.tier === 'team' || row.tier === 'local' ? row.tier : null,
    tool: (DEV_TOOLS as readonly string[]).includes(row.tool ?? '') ? (row.tool as DevToolDto) : null,
    decision: (SEMANTIC_DECISIONS as readonly string[]).includes(row.decision ?? '') ? (row.decision as SemanticDecisionDto) : null,
  };
}

/**
 * What is kept of a skipped prompt: its start, or, when the span lies past that (a question
 * after a tool's long preamble), the stretch around the span. The dashboard finds the span's
 * text in the excerpt when its offsets point past it.
 */
function promptExcerpt(prompt: string, span: SpanDto | null | undefined): string {
  if (prompt.length <= MAX_PROMPT_CHARS || !span || span.end <= MAX_PROMPT_CHARS) return prompt.slice(0, MAX_PROMPT_CHARS);
  const start = Math.max(0, Math.min(span.start - MAX_PROMPT_CHARS / 4, prompt.length - MAX_PROMPT_CHARS));
  return prompt.slice(start, start + MAX_PROMPT_CHARS);
}

function publicEvent(event: SkippedRequestDto): RequestEventDto {
  const { prompt: _prompt, span: _span, ...rest } = event;
  return rest;
}

/**
 * Every request's outcome, and every background revalidation: kept in SQLite with
 * bounded retention, the most recent ones also in memory (stats over a day of traffic
 * need no database read), and pushed to subscribers as they happen (the live view).
 */
export class EventLog {
  private readonly memory: SkippedRequestDto[] = [];
  private readonly revalidationMemory: RevalidationRecord[] = [];
  private readonly pending: SkippedRequestDto[] = [];
  private readonly pendingRevalidations: RevalidationRecord[] = [];
  private readonly listeners = new Set<(event: RequestEventDto) => void>();
  private nextId = 1;
  private readonly writes = new WriteBehind<EventBatch>({
    delayMs: FLUSH_DELAY_MS,
    take: () => this.takePending(),
    write: (batch) => this.write(batch),
    onError: () => {
      // Events are statistics: losing a batch to a full disk must not stop the gateway.
    },
  });
  private readonly pruneTimer: NodeJS.Timeout | undefined;
  /** Events before this time are not all in memory. */
  private memorySince: number;

  private constructor(
    private readonly db: sqlite3.Database | undefined,
    private readonly options: EventLogOptions,
  ) {
    this.memorySince = Date.now();
    if (db) {
      this.pruneTimer = setInterval(() => void this.prune(), PRUNE_INTERVAL_MS);
      this.pruneTimer.unref();
    }
  }

  static async open(options: EventLogOptions): Promise<EventLog> {
    if (!options.file) {
      const log = new EventLog(undefined, options);
      log.memorySince = 0;
      return log;
    }
    const file = options.file;
    const db = await openSqlite(file);
    const log = new EventLog(db, options);
    await log.run('PRAGMA journal_mode=WAL');
    await log.run('PRAGMA synchronous=NORMAL');
    await log.run(
      `CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, endpoint TEXT NOT NULL, model TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT, rule TEXT, similarity REAL, upstream_ms REAL, gateway_ms REAL NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, entry_id TEXT, status INTEGER NOT NULL, stream INTEGER NOT NULL, prompt TEXT, span TEXT)`,
    );
    // Added with the team tier: older databases gain the column.
    const columns = await log.all<{ name: string }>('PRAGMA table_info(events)');
    if (!columns.some((column) => column.name === 'tier')) await log.run('ALTER TABLE events ADD COLUMN tier TEXT');
    // Added with the per-tool view, and with verified semantic hits.
    if (!columns.some((column) => column.name === 'tool')) await log.run('ALTER TABLE events ADD COLUMN tool TEXT');
    if (!columns.some((column) => column.name === 'decision')) await log.run('ALTER TABLE events ADD COLUMN decision TEXT');
    await log.run('CREATE INDEX IF NOT EXISTS events_at ON events (at)');
    await log.run('CREATE INDEX IF NOT EXISTS events_skipped ON events (outcome, reason, id)');
    await log.run('CREATE TABLE IF NOT EXISTS revalidations (at INTEGER NOT NULL, entry_id TEXT NOT NULL, stale INTEGER NOT NULL)');
    // A semantic hit's recheck carries the similarity it was served at.
    const checkColumns = await log.all<{ name: string }>('PRAGMA table_info(revalidations)');
    if (!checkColumns.some((column) => column.name === 'similarity')) await log.run('ALTER TABLE revalidations ADD COLUMN similarity REAL');
    await log.run('CREATE INDEX IF NOT EXISTS revalidations_at ON revalidations (at)');
    const [last] = await log.all<{ id: number | null }>('SELECT MAX(id) AS id FROM events');
    log.nextId = (last?.id ?? 0) + 1;
    // The latest events, so the dashboard's recent stats survive a restart.
    const recent = await log.all<EventRow>('SELECT * FROM events ORDER BY id DESC LIMIT ?', options.memoryEvents);
    log.memory.push(...recent.reverse().map(fromRow));
    log.memorySince = recent.length < options.memoryEvents ? 0 : (log.memory[0]?.at ?? Date.now());
    const checks = await log.all<CheckRow>(
      'SELECT at, entry_id, stale, similarity FROM revalidations WHERE at >= ?',
      Date.now() - 7 * 86_400_000,
    );
    log.revalidationMemory.push(...checks.map(checkFromRow));
    return log;
  }

  private run(sql: string, ...params: unknown[]): Promise<void> {
    return runSql(this.db!, sql, params);
  }

  private all<T>(sql: string, ...params: unknown[]): Promise<T[]> {
    return allSql<T>(this.db!, sql, params);
  }

  /** Records a request; returns it with its id. */
  record(input: NewRequestEvent): RequestEventDto {
    const event: SkippedRequestDto = {
      ...input,
      id: this.nextId++,
      prompt: input.prompt ? promptExcerpt(input.prompt, input.span) : null,
      span: input.span ?? null,
    };
    this.memory.push(event);
    if (this.memory.length > this.options.memoryEvents) {
      this.memory.splice(0, this.memory.length - this.options.memoryEvents);
      this.memorySince = this.memory[0]!.at;
    }
    const visible = publicEvent(event);
    for (const listener of this.listeners) listener(visible);
    if (this.db) {
      this.pending.push(event);
      this.writes.schedule();
    }
    return visible;
  }

  recordRevalidation(record: RevalidationRecord): void {
    this.revalidationMemory.push(record);
    if (this.db) {
      this.pendingRevalidations.push(record);
      this.writes.schedule();
    }
  }

  /** Called with every new request event; returns the unsubscribe function. */
  subscribe(listener: (event: RequestEventDto) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Request events in [from, to), from memory when it covers the window. */
  async events(from: number, to: number): Promise<RequestEventDto[]> {
    if (from >= this.memorySince || !this.db) {
      return this.memory.filter((event) => event.at >= from && event.at < to).map(publicEvent);
    }
    await this.flush();
    const rows = await this.all<EventRow>('SELECT * FROM events WHERE at >= ? AND at < ? ORDER BY id', from, to);
    return rows.map((row) => publicEvent(fromRow(row)));
  }

  async revalidations(from: number, to: number): Promise<RevalidationRecord[]> {
    const oldestInMemory = this.revalidationMemory[0]?.at ?? Date.now();
    if (!this.db || from >= Math.min(oldestInMemory, Date.now() - 7 * 86_400_000)) {
      return this.revalidationMemory.filter((check) => check.at >= from && check.at < to);
    }
    await this.flush();
    const rows = await this.all<CheckRow>('SELECT at, entry_id, stale, similarity FROM revalidations WHERE at >= ? AND at < ?', from, to);
    return rows.map(checkFromRow);
  }

  /** The skipped requests, newest first, with their prompts and spans. */
  async skipped(options: { reason?: string; offset: number; limit: number }): Promise<SkippedPageDto> {
    if (!this.db) {
      const all = this.memory.filter((event) => event.outcome === 'SKIP' && (!options.reason || event.reason === options.reason)).reverse();
      return { total: all.length, offset: options.offset, items: all.slice(options.offset, options.offset + options.limit) };
    }
    await this.flush();
    const where = options.reason ? "outcome = 'SKIP' AND reason = ?" : "outcome = 'SKIP'";
    const params = options.reason ? [options.reason] : [];
    const [count] = await this.all<{ total: number }>(`SELECT COUNT(*) AS total FROM events WHERE ${where}`, ...params);
    const rows = await this.all<EventRow>(
      `SELECT * FROM events WHERE ${where} ORDER BY id DESC LIMIT ? OFFSET ?`,
      ...params,
      options.limit,
      options.offset,
    );
    return { total: count?.total ?? 0, offset: options.offset, items: rows.map(fromRow) };
  }

  /** Writes pending events, one statement per table; resolves when they are on disk (or their write failed). */
  flush(): Promise<void> {
    return this.writes.flush();
  }

  private takePending(): EventBatch | undefined {
    if (!this.db || (this.pending.length === 0 && this.pendingRevalidations.length === 0)) return undefined;
    return { events: this.pending.splice(0), checks: this.pendingRevalidations.splice(0) };
  }

  // Each batch is one statement over a JSON array, never a BEGIN ... COMMIT spanning event-loop
  // turns: that holds the write lock while other connections to the file wait for it in
  // SQLite's busy handler, and the event loop blocks behind them (EntryCatalog.write says how).
  private async write({ events, checks }: EventBatch): Promise<void> {
    if (events.length) {
      const rows = events.map((event) => [
        event.id,
        event.at,
        event.endpoint,
        event.model,
        event.outcome,
        event.reason,
        event.rule,
        event.similarity,
        event.upstreamMs,
        event.gatewayMs,
        event.promptTokens,
        event.completionTokens,
        event.entryId,
        event.status,
        event.stream ? 1 : 0,
        event.prompt,
        event.span ? JSON.stringify(event.span) : null,
        event.tier ?? null,
        event.tool ?? null,
        event.decision ?? null,
      ]);
      await this.run(
        `INSERT OR REPLACE INTO events (id, at, endpoint, model, outcome, reason, rule, similarity, upstream_ms, gateway_ms, prompt_tokens, completion_tokens, entry_id, status, stream, prompt, span, tier, tool, decision) SELECT ${jsonColumns(rows[0]!.length)} FROM json_each(?)`,
        JSON.stringify(rows),
      );
    }
    if (checks.length) {
      await this.run(
        `INSERT INTO revalidations (at, entry_id, stale, similarity) SELECT ${jsonColumns(4)} FROM json_each(?)`,
        JSON.stringify(checks.map((check) => [check.at, check.entryId, check.stale ? 1 : 0, check.similarity ?? null])),
      );
    }
  }

  /** Deletes events past the retention period or beyond the size bound. */
  async prune(now = Date.now()): Promise<void> {
    if (!this.db) return;
    await this.flush();
    const cutoff = now - this.options.retentionDays * 86_400_000;
    await this.run('DELETE FROM events WHERE at < ? OR id <= ?', cutoff, this.nextId - 1 - this.options.maxEvents).catch(() => {});
    await this.run('DELETE FROM revalidations WHERE at < ?', cutoff).catch(() => {});
  }

  async close(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.flush();
    this.listeners.clear();
    if (this.db) await new Promise<void>((resolve) => this.db!.close(() => resolve()));
  }
}
