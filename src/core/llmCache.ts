import { readAnatomy, type PromptAnatomy } from './anatomy/promptAnatomy';
import { identityOfEntry, type RequestIdentity } from './cacheKey';
import type { EntryCatalog } from './catalog/entryCatalog';
import { summarize } from './catalog/entrySummary';
import type { Logger } from './logger';
import type { SemanticCache } from './semantic/semanticCache';
import type { TeamHooks } from './team/teamTier';
import { putMessage } from './team/teamStream';
import { semanticQueryFor, semanticQueryOfEntry, type SemanticQuery } from './semantic/semanticQuery';
import type { ExactStore } from './stores/exactStore';
import { isObject, type CacheEntry, type Endpoint, type JsonObject, type JsonValue } from './types';

/** Finish reasons of a complete answer; `length` (truncated) and anything unknown are never stored. */
const COMPLETE_FINISH_REASONS = new Set(['stop', 'tool_calls', 'function_call']);

/** Canonical forms of stored requests, kept while the entry object lives (the hot tier reuses it). */
const canonicalRequests = new WeakMap<CacheEntry, string>();

function canonicalRequestOf(entry: CacheEntry): string {
  let canonical = canonicalRequests.get(entry);
  if (canonical === undefined) {
    canonical = identityOfEntry(entry).canonical;
    canonicalRequests.set(entry, canonical);
  }
  return canonical;
}

/**
 * Why an answer may not be stored, or undefined when it may: a truncated or
 * unfinished answer, an error body, or a shape the endpoint never returns.
 */
export function unstorableReason(endpoint: Endpoint, response: JsonObject): string | undefined {
  if (response.error !== undefined && response.error !== null) return 'error body';
  if (endpoint === 'embeddings') {
    const data = response.data;
    if (!Array.isArray(data) || data.length === 0) return 'no embeddings';
    // An embedding is an array of floats, or a base64 string with encoding_format: base64.
    const wellFormed = data.every((item) => isObject(item) && (Array.isArray(item.embedding) || typeof item.embedding === 'string'));
    return wellFormed ? undefined : 'malformed embeddings';
  }
  const choices = response.choices;
  if (!Array.isArray(choices) || choices.length === 0) return 'no choices';
  for (const choice of choices) {
    if (!isObject(choice)) return 'malformed choice';
    const reason = choice.finish_reason;
    if (reason === 'length') return 'truncated (finish_reason: length)';
    if (typeof reason !== 'string' || !COMPLETE_FINISH_REASONS.has(reason)) return `finish_reason: ${String(reason)}`;
  }
  return undefined;
}

/** A request as the cache levels see it. */
export interface CacheQuery {
  endpoint: Endpoint;
  identity: RequestIdentity;
  tenant: string;
  /** Similarity a semantic hit needs; undefined for the configured default. */
  threshold?: number;
  /** The request's anatomy, when the caller has read it; read from the body otherwise. */
  anatomy?: PromptAnatomy;
}

/** Where a lookup ended. A miss carries what the semantic level learned, to index the answer later. */
export type LookupResult =
  | { kind: 'exact'; entry: CacheEntry }
  | { kind: 'semantic'; entry: CacheEntry; similarity: number; question: string }
  | {
      kind: 'miss';
      nearestSimilarity: number | undefined;
      semantic: SemanticContext | undefined;
      /** When the semantic level explores: the nearest entry, whose answer the upstream's is to be compared with. */
      exploration: Exploration | undefined;
    };

/** A request forwarded to learn whether the nearest entry's answer would have been right for it. */
export interface Exploration {
  entryId: string;
  similarity: number;
}

/** The question's semantic view and vector, carried from the lookup to the store. */
export interface SemanticContext {
  query: SemanticQuery;
  vector: Float32Array | undefined;
}

export interface StoreRequest {
  endpoint: Endpoint;
  identity: RequestIdentity;
  tenant: string;
  model: string;
  response: JsonObject;
  source: CacheEntry['source'];
  ttlSeconds: number;
  /** From the lookup's miss, when there was one. */
  semantic?: SemanticContext;
}

export interface LlmCacheDeps {
  exact: ExactStore;
  /** The browsable list of entries (search, sort, hit counts); absent in minimal setups. */
  catalog?: EntryCatalog;
  /** The semantic level; absent when it is switched off. */
  semantic?: SemanticCache;
  /** The team tier, when one is configured: told what is stored and evicted here. */
  team?: TeamHooks;
  logger: Logger;
  now?: () => number;
}

/**
 * The cache levels behind one interface: exact, then semantic. Cache errors
 * degrade: a failed read is a miss and a failed write is logged, so a broken
 * store or model never fails a request.
 */
export class LlmCache {
  private readonly exact: ExactStore;
  readonly semantic: SemanticCache | undefined;
  readonly catalog: EntryCatalog | undefined;
  private readonly team: TeamHooks | undefined;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(deps: LlmCacheDeps) {
    this.exact = deps.exact;
    this.semantic = deps.semantic;
    this.catalog = deps.catalog;
    this.team = deps.team;
    this.logger = deps.logger;
    this.now = deps.now ?? Date.now;
  }

  /** Exact lookup, then semantic. */
  async lookup(query: CacheQuery): Promise<LookupResult> {
    const exact = await this.lookupExact(query.identity, query.tenant);
    if (exact) return { kind: 'exact', entry: exact };
    return this.lookupSemantic(query);
  }

  /** The stored entry for exactly this request, if any and still fresh. */
  async lookupExact(identity: RequestIdentity, tenant: string): Promise<CacheEntry | undefined> {
    // The first cacheable request starts loading the embedding model, in the background.
    if (this.semantic) void this.semantic.start();
    let entry: CacheEntry | undefined;
    try {
      entry = await this.exact.get(identity.key);
    } catch (error) {
      this.logger.warn('cache read failed; treating as a miss', { entry: identity.key, error });
      return undefined;
    }
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) return undefined;
    // The key is a hash: make sure the stored entry answers this very request.
    if (entry.tenant !== tenant || canonicalRequestOf(entry) !== identity.canonical) {
      this.logger.warn('stored entry does not match its key; ignoring it', { entry: identity.key });
      return undefined;
    }
    this.catalog?.touch(entry.id, this.now());
    return entry;
  }

  /** A stored answer to a question that means the same, in the same context. */
  async lookupSemantic(query: CacheQuery): Promise<LookupResult> {
    const anatomy = this.semantic && (query.anatomy ?? readAnatomy(query.endpoint, query.identity.keyed));
    // The partition masks what the key masked, so two sessions of one workspace share it too.
    const masks = anatomy && query.identity.normalized.length ? anatomy.volatile : [];
    const semanticQuery =
      anatomy && semanticQueryFor(query.endpoint, query.tenant, query.identity.keyed, anatomy, masks, query.identity.exactNumbers);
    if (!this.semantic || !semanticQuery)
      return { kind: 'miss', nearestSimilarity: undefined, semantic: undefined, exploration: undefined };
    const found = await this.semantic.lookup(semanticQuery);
    const context: SemanticContext = { query: semanticQuery, vector: found?.vector };
    const nearest = found?.nearest;
    const decision =
      nearest && this.semantic.decide({ entryId: nearest.id, similarity: nearest.score, endpoint: query.endpoint }, query.threshold);
    if (nearest && decision?.action === 'exploit') {
      const entry = await this.answeringEntry(nearest.id, query.endpoint, semanticQuery.partition);
      if (entry) {
        this.catalog?.touch(entry.id, this.now());
        return { kind: 'semantic', entry, similarity: nearest.score, question: semanticQuery.text };
      }
      this.semantic.dropStale(nearest.id);
    }
    const exploration = nearest && decision?.action === 'explore' ? { entryId: nearest.id, similarity: nearest.score } : undefined;
    return { kind: 'miss', nearestSimilarity: nearest?.score, semantic: context, exploration };
  }

  /**
   * The entry a vector points at, if it still answers the partition: a vector may outlive its
   * entry (expired, evicted by another path), and a stale pointer never answers.
   */
  async answeringEntry(id: string, endpoint: Endpoint, partition: string): Promise<CacheEntry | undefined> {
    const entry = await this.exact.get(id).catch(() => undefined);
    const answers =
      entry && entry.expiresAt > this.now() && entry.endpoint === endpoint && semanticQueryOfEntry(entry)?.partition === partition;
    return answers ? entry : undefined;
  }

  /** Stores a complete answer. Returns the entry, or undefined when it was not stored (and why is logged). */
  async store(request: StoreRequest): Promise<CacheEntry | undefined> {
    const reason = unstorableReason(request.endpoint, request.response);
    if (reason) {
      this.logger.debug('answer not stored', { entry: request.identity.key, reason });
      return undefined;
    }
    if (request.ttlSeconds <= 0) return undefined;
    const createdAt = this.now();
    const entry: CacheEntry = {
      version: 1,
      id: request.identity.key,
      endpoint: request.endpoint,
      model: request.model,
      tenant: request.tenant,
      createdAt,
      expiresAt: createdAt + request.ttlSeconds * 1000,
      request: request.identity.keyed,
      response: request.response,
      source: request.source,
    };
    if (request.identity.normalized.length) entry.normalized = request.identity.normalized;
    if (request.identity.exactNumbers?.length) entry.exactNumbers = request.identity.exactNumbers;
    canonicalRequests.set(entry, request.identity.canonical);
    try {
      await this.exact.set(entry);
    } catch (error) {
      this.logger.warn('cache write failed; the answer was served but not stored', { entry: entry.id, error });
      return undefined;
    }
    const query = this.semantic || this.team ? (request.semantic?.query ?? semanticQueryOfEntry(entry)) : undefined;
    const vector = query && this.semantic?.remember(entry.id, query.partition, request.semantic?.vector);
    if (query && this.team) this.team.publish(putMessage(entry, query.partition, this.semantic?.space ?? '', vector));
    this.catalog?.upsert(summarize(entry));
    return entry;
  }

  /** Where an entry just looked up came from: this machine, or the team tier. */
  tierOf(entry: CacheEntry): 'local' | 'team' {
    return this.team?.tierOf(entry) ?? 'local';
  }

  /** A stored entry by id, fresh or not yet swept, for the admin API. */
  async entry(id: string): Promise<CacheEntry | undefined> {
    return this.exact.get(id).catch(() => undefined);
  }

  /** Removes entries (their vectors and catalog rows too); returns how many existed. */
  async evict(ids: string | readonly string[]): Promise<number> {
    const list = typeof ids === 'string' ? [ids] : ids;
    this.semantic?.forget(list);
    this.catalog?.remove(list);
    let evicted = 0;
    for (const id of list) if (await this.exact.delete(id)) evicted++;
    if (list.length) this.team?.publish({ op: 'del', ids: [...list] });
    return evicted;
  }

  async clear(): Promise<void> {
    await this.exact.clear();
    await this.semantic?.clear();
    await this.catalog?.clear();
    this.team?.publish({ op: 'clear' });
  }

  /**
   * Start-up repair of the catalog: rows whose entry is gone are dropped, entries
   * without a row are listed again. Returns how many rows were fixed.
   */
  async reconcileCatalog(): Promise<number> {
    if (!this.catalog) return 0;
    const [stored, listed] = await Promise.all([this.exact.ids(), this.catalog.ids()]);
    const gone = [...listed].filter((id) => !stored.has(id));
    this.catalog.remove(gone);
    let added = 0;
    for (const id of stored) {
      if (listed.has(id)) continue;
      const entry = await this.exact.get(id).catch(() => undefined);
      if (entry) {
        this.catalog.upsert(summarize(entry));
        added++;
      }
    }
    await this.catalog.flush();
    return gone.length + added;
  }

  /** Drops expired entries and their vectors; returns how many. */
  async sweepExpired(): Promise<number> {
    try {
      const expired = await this.exact.sweepExpired(this.now());
      this.semantic?.forget(expired);
      this.catalog?.remove(expired);
      const teamExpired = (await this.team?.sweepExpired(this.now())) ?? [];
      return expired.length + teamExpired.length;
    } catch (error) {
      this.logger.warn('expiry sweep failed', { error });
      return 0;
    }
  }

  async close(): Promise<void> {
    await this.semantic?.close();
    await this.catalog?.close();
    await this.exact.close();
  }
}
