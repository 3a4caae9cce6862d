import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Logger } from '../logger';
import type { RedisConnection } from './redisConnection';

/**
 * What gateways tell each other through the team's Redis stream. A `put` names a
 * stored entry and, when its author had one, the question's vector (int8 codes and
 * their scale, exactly as the index keeps them) with the vector space it belongs to.
 */
export type TeamMessage =
  | {
      op: 'put';
      id: string;
      expiresAt: number;
      partition: string;
      /** The author's vector space (`model#dtype`); empty when its semantic level is off. */
      space: string;
      vector?: { codes: Int8Array; scale: number };
    }
  | { op: 'del'; ids: string[] }
  | { op: 'clear' }
  | {
      /** What an exploration or a revalidation learned about an entry: a question at this similarity, and whether its answer was right. */
      op: 'obs';
      entryId: string;
      /** The entry's vector space and endpoint (`space|endpoint`): only a gateway in the same space can use it. */
      group: string;
      similarity: number;
      correct: boolean;
      at: number;
    };

/** The `put` announcing a stored entry, with its vector when the author's index holds one. */
export function putMessage(
  entry: { id: string; expiresAt: number },
  partition: string,
  space: string,
  vector: { codes: Int8Array; scale: number } | undefined,
): TeamMessage {
  return {
    op: 'put',
    id: entry.id,
    expiresAt: entry.expiresAt,
    partition,
    space,
    vector: vector && { codes: vector.codes, scale: vector.scale },
  };
}

/** A message as read back, with who wrote it and when Redis took it. */
export interface ReceivedMessage {
  /** The stream id, `<ms>-<seq>`. */
  streamId: string;
  /** Redis' time for the message, epoch ms (from the stream id). */
  at: number;
  origin: string;
  message: TeamMessage;
}

const FORMAT = '1';

/** The flat field list XADD takes. */
export function encodeMessage(message: TeamMessage, origin: string): string[] {
  const fields = ['v', FORMAT, 'origin', origin, 'op', message.op];
  if (message.op === 'put') {
    fields.push('id', message.id, 'exp', String(message.expiresAt), 'part', message.partition, 'space', message.space);
    if (message.vector) {
      const { codes, scale } = message.vector;
      fields.push('codes', Buffer.from(codes.buffer, codes.byteOffset, codes.byteLength).toString('base64'), 'scale', String(scale));
    }
  } else if (message.op === 'del') {
    fields.push('ids', message.ids.join(','));
  } else if (message.op === 'obs') {
    fields.push(
      'id',
      message.entryId,
      'group',
      message.group,
      's',
      String(message.similarity),
      'ok',
      message.correct ? '1' : '0',
      'at',
      String(message.at),
    );
  }
  return fields;
}

const ENTRY_ID = /^[0-9a-f]{8,128}$/;

/**
 * Reads one stream message back; undefined for anything malformed or from a
 * newer format. The stream is shared data: nothing in it is trusted blindly.
 */
export function decodeMessage(streamId: string, flat: readonly unknown[]): ReceivedMessage | undefined {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key = flat[i];
    const value = flat[i + 1];
    if (typeof key === 'string' && typeof value === 'string') fields.set(key, value);
    else if (Buffer.isBuffer(key) && Buffer.isBuffer(value)) fields.set(key.toString(), value.toString());
  }
  const at = Number(streamId.split('-')[0]);
  const origin = fields.get('origin');
  if (fields.get('v') !== FORMAT || !origin || !Number.isFinite(at)) return undefined;
  const op = fields.get('op');
  if (op === 'clear') return { streamId, at, origin, message: { op: 'clear' } };
  if (op === 'del') {
    const ids = (fields.get('ids') ?? '').split(',').filter((id) => ENTRY_ID.test(id));
    return ids.length ? { streamId, at, origin, message: { op: 'del', ids } } : undefined;
  }
  if (op === 'obs') {
    const entryId = fields.get('id') ?? '';
    const group = fields.get('group') ?? '';
    const similarity = Number(fields.get('s'));
    const correct = fields.get('ok');
    const observedAt = Number(fields.get('at'));
    if (
      !ENTRY_ID.test(entryId) ||
      !group.includes('|') ||
      !(similarity >= -1 && similarity <= 1) ||
      (correct !== '1' && correct !== '0') ||
      !Number.isFinite(observedAt)
    )
      return undefined;
    return { streamId, at, origin, message: { op: 'obs', entryId, group, similarity, correct: correct === '1', at: observedAt } };
  }
  if (op !== 'put') return undefined;
  const id = fields.get('id') ?? '';
  const expiresAt = Number(fields.get('exp'));
  const partition = fields.get('part');
  const space = fields.get('space') ?? '';
  if (!ENTRY_ID.test(id) || !Number.isFinite(expiresAt) || !partition) return undefined;
  const message: TeamMessage = { op: 'put', id, expiresAt, partition, space };
  const codes = fields.get('codes');
  const scale = Number(fields.get('scale'));
  if (codes !== undefined && Number.isFinite(scale) && scale > 0) {
    const bytes = Buffer.from(codes, 'base64');
    if (bytes.length > 0)
      message.vector = { codes: new Int8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)), scale };
  }
  return { streamId, at, origin, message };
}

/** XREAD's reply, `[[key, [[id, [field, value, ...]], ...]]]`, as (id, fields) pairs. */
export function readReply(reply: unknown): Array<{ id: string; fields: unknown[] }> {
  if (!Array.isArray(reply)) return [];
  const out: Array<{ id: string; fields: unknown[] }> = [];
  for (const stream of reply) {
    const messages = Array.isArray(stream) ? stream[1] : undefined;
    if (!Array.isArray(messages)) continue;
    for (const item of messages) {
      if (!Array.isArray(item)) continue;
      const [id, fields] = item as [unknown, unknown];
      const text = Buffer.isBuffer(id) ? id.toString() : id;
      if (typeof text === 'string' && Array.isArray(fields)) out.push({ id: text, fields });
    }
  }
  return out;
}

export interface TeamStreamOptions {
  connection: RedisConnection;
  team: string;
  /** This gateway's id: its own messages are not applied again. */
  origin: string;
  /** Messages older than this are trimmed from the stream. */
  retentionMs: number;
  /** Where the position reached is kept, so a restart catches up from there; null keeps it in memory. */
  offsetFile: string | null;
  logger: Logger;
  /** How many messages one read takes at most. */
  batch?: number;
}

/** Milliseconds one blocking read waits for news before looping (and noticing a close). */
const BLOCK_MS = 1000;

/**
 * The team's stream: what each gateway stores or evicts, appended with XADD and
 * trimmed by age; followed by every gateway with a blocking XREAD from the last
 * position it reached (kept in the data directory), so a gateway that was
 * offline catches up on start.
 */
export class TeamStream {
  readonly key: string;
  private position = '0';
  private savedPosition = '0';
  private saveTimer: NodeJS.Timeout | undefined;
  private following = false;
  private stopped = false;
  /** Applied message count and the last one's Redis time, for /health. */
  applied = 0;
  lastAppliedAt: number | null = null;
  /** How long the latest messages took from Redis to applied, ms (a ring of the last 4096). */
  private readonly lags = new Float64Array(4096);
  private lagCount = 0;

  constructor(private readonly options: TeamStreamOptions) {
    this.key = `deja:${options.team}:stream`;
  }

  /** Appends a message; rejects when Redis is away (the caller decides what that means). */
  async publish(message: TeamMessage): Promise<void> {
    const { connection } = this.options;
    if (!connection.connected) throw new Error('the team cache is not connected');
    const oldest = Date.now() - this.options.retentionMs;
    await connection.commands.sendCommand([
      'XADD',
      this.key,
      'MINID',
      '~',
      String(Math.max(0, oldest)),
      '*',
      ...encodeMessage(message, this.options.origin),
    ]);
  }

  /** The position to resume from: the file's, or the stream's start for a gateway new to the team. */
  private async loadPosition(): Promise<void> {
    if (!this.options.offsetFile) return;
    try {
      const saved = JSON.parse(await readFile(this.options.offsetFile, 'utf8')) as { key?: string; position?: string };
      if (saved.key === this.key && typeof saved.position === 'string' && /^\d+-\d+$/.test(saved.position)) this.position = saved.position;
    } catch {
      // none yet: read the whole retained stream
    }
    this.savedPosition = this.position;
  }

  private scheduleSave(): void {
    if (!this.options.offsetFile || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.savePosition();
    }, 1000);
    this.saveTimer.unref?.();
  }

  private async savePosition(): Promise<void> {
    const file = this.options.offsetFile;
    if (!file || this.position === this.savedPosition) return;
    const position = this.position;
    try {
      // Written aside and renamed: a crash leaves the old position or the new one, never half a file.
      await writeFile(`${file}.tmp`, JSON.stringify({ key: this.key, position }), { mode: 0o600 });
      await rename(`${file}.tmp`, file);
      this.savedPosition = position;
    } catch (error) {
      this.options.logger.debug('could not save the team stream position', { error });
    }
  }

  /**
   * Follows the stream until stopped, handing each batch of others' messages to
   * `apply` in order. While Redis is away it waits and resumes where it was.
   */
  async follow(apply: (messages: ReceivedMessage[]) => Promise<void>): Promise<void> {
    if (this.following) return;
    this.following = true;
    await this.loadPosition();
    const { connection } = this.options;
    const count = String(this.options.batch ?? 2000);
    while (!this.stopped) {
      if (!connection.reader.isReady) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        continue;
      }
      let reply: unknown;
      try {
        reply = await connection.reader.sendCommand([
          'XREAD',
          'COUNT',
          count,
          'BLOCK',
          String(BLOCK_MS),
          'STREAMS',
          this.key,
          this.position,
        ]);
      } catch (error) {
        if (this.stopped) break;
        this.options.logger.debug('reading the team stream failed; retrying', { error });
        await new Promise((resolve) => setTimeout(resolve, 250));
        continue;
      }
      const items = readReply(reply);
      if (items.length === 0) continue;
      const received: ReceivedMessage[] = [];
      for (const item of items) {
        const decoded = decodeMessage(item.id, item.fields);
        if (decoded && decoded.origin !== this.options.origin) received.push(decoded);
      }
      try {
        if (received.length) await apply(received);
      } catch (error) {
        this.options.logger.warn('applying team updates failed', { error });
      }
      this.position = items[items.length - 1]!.id;
      const appliedAt = Date.now();
      for (const message of received) this.lags[this.lagCount++ % this.lags.length] = Math.max(0, appliedAt - message.at);
      this.applied += received.length;
      if (received.length) this.lastAppliedAt = received[received.length - 1]!.at;
      this.scheduleSave();
    }
  }

  /** Redis-to-applied delay of the latest messages: p50, p95 and max in ms, over how many. */
  lag(): { p50: number; p95: number; max: number; count: number } | null {
    const count = Math.min(this.lagCount, this.lags.length);
    if (count === 0) return null;
    const sorted = Float64Array.from(this.lags.subarray(0, count)).sort();
    const at = (p: number) => sorted[Math.min(count - 1, Math.ceil((p / 100) * count) - 1)]!;
    return { p50: at(50), p95: at(95), max: sorted[count - 1]!, count };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    await this.savePosition();
  }
}
