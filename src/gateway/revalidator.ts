import { identityOfEntry } from '../core/cacheKey';
import type { EventLog } from '../core/events/eventLog';
import { exactTree, stringifyExact, type ExactNumber } from '../core/exactNumbers';
import type { LlmCache } from '../core/llmCache';
import type { Logger } from '../core/logger';
import { StalenessJudge, type AnswerJudge } from '../core/semantic/judge/answerJudge';
import { isObject, ENDPOINT_PATHS, type CacheEntry, type Endpoint, type JsonObject, type JsonValue } from '../core/types';
import type { GatewayMetrics } from './promMetrics';
import { readBody, type Upstream } from './upstream';

const MAX_BODY = 64 * 1024 * 1024;

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

export interface RevalidatorDeps {
  cache: LlmCache;
  upstream: Upstream;
  events: EventLog;
  metrics: GatewayMetrics;
  logger: Logger;
  share: number;
  staleThreshold: number;
  /** Judges whether a served semantic hit's answer was right for its question. */
  judge: AnswerJudge;
  random?: () => number;
}

/** A served semantic hit: the question it answered (the request as keyed), and how similar that question was to the entry's. */
export interface ServedSemanticHit {
  endpoint: Endpoint;
  request: JsonObject;
  /** Its numbers a double does not keep, as the client wrote them. */
  exactNumbers?: ExactNumber[];
  question: string;
  similarity: number;
}

/**
 * Measures, on a small share of hits asked again upstream in the background:
 * - staleness, for exact hits: when the fresh answer differs materially from the stored one
 *   (by answer embeddings when the model is loaded, by text otherwise), the hit counts as
 *   stale and the entry is replaced with the fresh answer;
 * - rightness, for semantic hits: the upstream answers the question the hit was served for,
 *   and the judge says whether the served answer was right. That is the measured false-hit
 *   rate, and an observation the entry learns from.
 */
export class Revalidator {
  private readonly running = new Set<string>();
  private readonly random: () => number;
  /** The staleness comparison: the same meaning, by the answers' embeddings. */
  private readonly staleness: StalenessJudge;

  constructor(private readonly deps: RevalidatorDeps) {
    this.random = deps.random ?? Math.random;
    this.staleness = new StalenessJudge(
      (a, b) => deps.cache.semantic?.textSimilarity(a, b) ?? Promise.resolve(undefined),
      deps.staleThreshold,
    );
  }

  /** Called on every hit; rechecks it with the configured probability. A semantic hit is checked for rightness. */
  maybeRevalidate(entry: CacheEntry, authorization: string | undefined, served?: ServedSemanticHit): void {
    if (this.deps.share <= 0 || this.running.has(entry.id) || this.random() >= this.deps.share) return;
    this.running.add(entry.id);
    const check = served ? this.checkSemantic(entry, served, authorization) : this.revalidate(entry, authorization);
    void check
      .catch((error: unknown) => this.deps.logger.debug('revalidation failed', { entry: entry.id, error }))
      .finally(() => this.running.delete(entry.id));
  }

  /** The upstream's answer to a request, or undefined when it did not give one. */
  private async ask(
    endpoint: Endpoint,
    request: JsonObject,
    exactNumbers: ExactNumber[] | undefined,
    authorization: string | undefined,
  ): Promise<JsonObject | undefined> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'accept-encoding': 'identity' };
    if (authorization) headers.authorization = authorization;
    // A seed past 2^53 is asked as it was stored, digit for digit.
    const exact = exactTree(exactNumbers);
    const text = exact ? stringifyExact(request, exact) : JSON.stringify(request);
    const response = await this.deps.upstream.request({ method: 'POST', path: ENDPOINT_PATHS[endpoint], headers, body: Buffer.from(text) });
    const body = await readBody(response.body, MAX_BODY);
    if (response.status !== 200) return undefined;
    return JSON.parse(body.toString('utf8')) as JsonObject;
  }

  /** Rechecks one entry now; resolves with whether it was stale, or undefined when it could not be checked. */
  async revalidate(entry: CacheEntry, authorization: string | undefined): Promise<boolean | undefined> {
    const fresh = await this.ask(entry.endpoint, entry.request, entry.exactNumbers, authorization);
    if (!fresh) return undefined;
    const stale = !(await this.same(entry, fresh, authorization));
    this.deps.events.recordRevalidation({ at: Date.now(), entryId: entry.id, stale });
    this.deps.metrics.observeRevalidation(stale);
    if (stale) {
      const ttlSeconds = Math.max(1, Math.round((entry.expiresAt - entry.createdAt) / 1000));
      const identity = identityOfEntry(entry);
      await this.deps.cache.store({
        endpoint: entry.endpoint,
        identity,
        tenant: entry.tenant,
        model: entry.model,
        response: fresh,
        source: 'json',
        ttlSeconds,
      });
      this.deps.logger.info('a cached answer was stale and has been replaced', { entry: entry.id });
    }
    return stale;
  }

  /**
   * Asks the upstream the question a semantic hit was served for, and judges the served
   * answer against its answer. Resolves with whether the served answer was wrong, or
   * undefined when the upstream or the judge gave no verdict (then nothing is recorded).
   */
  async checkSemantic(entry: CacheEntry, served: ServedSemanticHit, authorization: string | undefined): Promise<boolean | undefined> {
    const fresh = await this.ask(served.endpoint, served.request, served.exactNumbers, authorization);
    if (!fresh) return undefined;
    const right = await this.deps.judge.judge({
      endpoint: served.endpoint,
      model: entry.model,
      question: served.question,
      stored: entry.response,
      fresh,
      authorization,
    });
    if (right === undefined) return undefined;
    const at = Date.now();
    this.deps.events.recordRevalidation({ at, entryId: entry.id, stale: !right, similarity: served.similarity });
    this.deps.metrics.observeSemanticCheck(!right);
    this.deps.cache.semantic?.observe(entry.id, served.endpoint, { similarity: served.similarity, correct: right, at });
    if (!right)
      this.deps.logger.info('a semantic hit was the wrong answer to its question', { entry: entry.id, similarity: served.similarity });
    return !right;
  }

  private async same(entry: CacheEntry, fresh: JsonObject, authorization: string | undefined): Promise<boolean> {
    if (entry.endpoint === 'embeddings') {
      const a = firstEmbedding(entry.response);
      const b = firstEmbedding(fresh);
      return a !== undefined && b !== undefined && cosine(a, b) >= this.deps.staleThreshold;
    }
    const verdict = await this.staleness.judge({ stored: entry.response, fresh });
    return verdict === true;
  }
}
