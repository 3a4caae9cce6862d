import { identityOfEntry } from '../core/cacheKey';
import type { EventLog } from '../core/events/eventLog';
import type { LlmCache } from '../core/llmCache';
import type { Logger } from '../core/logger';
import { ENDPOINT_PATHS, type CacheEntry, type JsonObject, type JsonValue } from '../core/types';
import type { GatewayMetrics } from './promMetrics';
import { readBody, type Upstream } from './upstream';

const MAX_BODY = 64 * 1024 * 1024;

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What an answer says, for comparing two answers to the same request. */
export function answerText(response: JsonObject): string {
  const choices = Array.isArray(response.choices) ? response.choices.filter(isObject) : [];
  return choices
    .map((choice) => {
      if (typeof choice.text === 'string') return choice.text;
      const message = isObject(choice.message) ? choice.message : {};
      const calls = Array.isArray(message.tool_calls) ? JSON.stringify(message.tool_calls.map((call) => (isObject(call) ? call.function ?? null : null))) : '';
      return `${typeof message.content === 'string' ? message.content : ''}${calls}`;
    })
    .join('\n');
}

function firstEmbedding(response: JsonObject): number[] | undefined {
  const first = Array.isArray(response.data) ? response.data[0] : undefined;
  return isObject(first) && Array.isArray(first.embedding) ? (first.embedding as number[]) : undefined;
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

const normalize = (text: string) => text.replace(/\s+/g, ' ').trim();

export interface RevalidatorDeps {
  cache: LlmCache;
  upstream: Upstream;
  events: EventLog;
  metrics: GatewayMetrics;
  logger: Logger;
  share: number;
  staleThreshold: number;
  random?: () => number;
}

/**
 * Measures staleness: a small share of hits is asked again upstream, in the
 * background. When the fresh answer differs materially from the stored one
 * (by answer embeddings when the model is loaded, by text otherwise), the hit
 * counts as stale and the entry is replaced with the fresh answer.
 */
export class Revalidator {
  private readonly running = new Set<string>();
  private readonly random: () => number;

  constructor(private readonly deps: RevalidatorDeps) {
    this.random = deps.random ?? Math.random;
  }

  /** Called on every hit; rechecks it with the configured probability. */
  maybeRevalidate(entry: CacheEntry, authorization: string | undefined): void {
    if (this.deps.share <= 0 || this.running.has(entry.id) || this.random() >= this.deps.share) return;
    this.running.add(entry.id);
    void this.revalidate(entry, authorization)
      .catch((error: unknown) => this.deps.logger.debug('revalidation failed', { entry: entry.id, error }))
      .finally(() => this.running.delete(entry.id));
  }

  /** Rechecks one entry now; resolves with whether it was stale, or undefined when it could not be checked. */
  async revalidate(entry: CacheEntry, authorization: string | undefined): Promise<boolean | undefined> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'accept-encoding': 'identity' };
    if (authorization) headers.authorization = authorization;
    const response = await this.deps.upstream.request({ method: 'POST', path: ENDPOINT_PATHS[entry.endpoint], headers, body: Buffer.from(JSON.stringify(entry.request)) });
    const body = await readBody(response.body, MAX_BODY);
    if (response.status !== 200) return undefined;
    const fresh = JSON.parse(body.toString('utf8')) as JsonObject;
    const stale = !(await this.same(entry, fresh));
    this.deps.events.recordRevalidation({ at: Date.now(), entryId: entry.id, stale });
    this.deps.metrics.observeRevalidation(stale);
    if (stale) {
      const ttlSeconds = Math.max(1, Math.round((entry.expiresAt - entry.createdAt) / 1000));
      const identity = identityOfEntry(entry);
      await this.deps.cache.store({ endpoint: entry.endpoint, identity, tenant: entry.tenant, model: entry.model, response: fresh, source: 'json', ttlSeconds });
      this.deps.logger.info('a cached answer was stale and has been replaced', { entry: entry.id });
    }
    return stale;
  }

  private async same(entry: CacheEntry, fresh: JsonObject): Promise<boolean> {
    if (entry.endpoint === 'embeddings') {
      const a = firstEmbedding(entry.response);
      const b = firstEmbedding(fresh);
      return a !== undefined && b !== undefined && cosine(a, b) >= this.deps.staleThreshold;
    }
    const stored = answerText(entry.response);
    const current = answerText(fresh);
    if (normalize(stored) === normalize(current)) return true;
    const similarity = await this.deps.cache.semantic?.textSimilarity(stored, current);
    return similarity !== undefined && similarity >= this.deps.staleThreshold;
  }
}
