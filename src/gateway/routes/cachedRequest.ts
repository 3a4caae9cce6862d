import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { readAnatomy, type PromptAnatomy } from '../../core/anatomy/promptAnatomy';
import { identifyRequest, tenantTag, type RequestIdentity } from '../../core/cacheKey';
import type { NewRequestEvent } from '../../core/events/eventLog';
import type { Exploration, LookupResult, SemanticContext } from '../../core/llmCache';
import type { PolicyInput } from '../../core/policy/policy';
import type { PolicyDecision } from '../../core/policy/policyTypes';
import { isObject, type CacheEntry, type Endpoint, type JsonObject } from '../../core/types';
import { readCacheControl, type CacheControl } from '../cacheControl';
import { Flight, type FlightResult } from '../flight';
import type { GatewayContext } from '../gatewayContext';
import { exactNumbersOf } from '../jsonBody';
import { sendEntry, sendFromFlight, type ClientWants } from '../respond';
import {
  answerOf,
  clientHints,
  hitHeaders,
  outcomeHeaders,
  promptFor,
  stringAt,
  systemPrompt,
  upstreamAuthorization,
  upstreamRequestFor,
  usageOf,
} from './requestParts';

type Headers = OutgoingHttpHeaders | (() => OutgoingHttpHeaders);

/**
 * One request to a cached endpoint, taken through its steps: decide the policy, look up
 * (exact, then semantic), answer from the cache, join an identical exchange, or forward,
 * explore, store and learn. Every request leaves one event, recorded when its response ends.
 */
export class CachedRequest {
  private readonly started = performance.now();
  private readonly control: CacheControl;
  private readonly authorization: string | undefined;
  private readonly streaming: boolean;
  private readonly wants: ClientWants;
  /** Where the question is, what the tool wrapped around it, and what in that wrapping changes every session. */
  private readonly anatomy: PromptAnatomy;
  private readonly policyInput: PolicyInput;
  private readonly tenant: string;
  private readonly identity: RequestIdentity;
  /** What this request leaves for the metrics, filled in as it goes. */
  private readonly event: NewRequestEvent;
  /** Decided once, when first needed; a skip is noted on the event then. */
  private decision: PolicyDecision | undefined;
  /** A miss whose text is scanned while the upstream works: the event needs the decision, even if the client left first. */
  private scanPending: (() => void) | undefined;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly context: GatewayContext,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly request: JsonObject,
  ) {
    this.control = readCacheControl(req.headers);
    this.authorization = upstreamAuthorization(req, context.options.upstreamApiKey);
    this.streaming = endpoint !== 'embeddings' && request.stream === true;
    const streamOptions = isObject(request.stream_options) ? request.stream_options : {};
    this.wants = { stream: this.streaming, includeUsage: this.streaming && streamOptions.include_usage === true };
    this.anatomy = readAnatomy(endpoint, request, clientHints(req));
    const optOut = this.control.noStore ? 'no-store' : this.control.noCache ? 'no-cache' : undefined;
    this.policyInput = { endpoint, body: request, clientOptOut: optOut ? `Cache-Control: ${optOut}` : undefined, anatomy: this.anatomy };
    this.tenant = tenantTag(context.upstream.baseUrl, this.authorization);
    this.identity = identifyRequest(
      endpoint,
      this.tenant,
      request,
      context.options.normalizeVolatile ? this.anatomy.volatile : [],
      exactNumbersOf(req),
    );
    this.event = {
      at: Date.now(),
      endpoint,
      model: String(request.model),
      outcome: 'MISS',
      reason: null,
      rule: null,
      similarity: null,
      upstreamMs: null,
      gatewayMs: 0,
      promptTokens: 0,
      completionTokens: 0,
      entryId: null,
      status: 0,
      stream: this.streaming,
      tool: this.anatomy.tool,
    };
    res.once('close', () => this.recordEvent());
  }

  async handle(): Promise<void> {
    if (!this.context.options.cachingEnabled) return this.bypass();
    // When only the prompt's text decides, a miss scans it while the upstream works rather than before
    // (the scan is the policy's whole cost); every other path decides before it answers or joins.
    if (!this.context.policy.onlyTextDecides(this.policyInput) && (await this.forwardIfRefused())) return;
    const exact = await this.context.cache.lookupExact(this.identity, this.tenant);
    // Every answer other than a fresh miss needs the decision first.
    if ((exact || this.context.flights.has(this.identity.key) || this.context.cache.semantic) && (await this.forwardIfRefused())) return;
    if (exact) return this.answerFromCache('HIT', exact, hitHeaders('HIT', exact));
    if (await this.join()) return;
    const found = await this.lookUpSemantic();
    if (found.kind === 'semantic') return this.answerSemanticHit(found);
    // The embedding took a moment: an identical request may have started meanwhile.
    if (await this.join()) return;
    if (found.kind === 'miss') await this.forwardMiss(found);
  }

  /** Caching is off: forwarded untouched. */
  private async bypass(): Promise<void> {
    Object.assign(this.event, { outcome: 'BYPASS', reason: 'caching_disabled' });
    await this.forward(outcomeHeaders('BYPASS', 'caching_disabled'), true);
  }

  private decidePolicy(): PolicyDecision {
    if (this.decision) return this.decision;
    const settled = this.context.policy.classify(this.policyInput);
    if (!settled.cacheable) {
      Object.assign(this.event, {
        outcome: 'SKIP',
        reason: settled.reason,
        rule: settled.rule,
        span: settled.span ?? null,
        prompt: promptFor(this.request, settled.span),
      });
    }
    this.decision = settled;
    return settled;
  }

  /** Forwards a request the policy refuses, and says whether it did. */
  private async forwardIfRefused(): Promise<boolean> {
    const settled = this.decidePolicy();
    if (settled.cacheable) return false;
    const result = await this.forward(outcomeHeaders('SKIP', settled.reason));
    // no-cache asks for a fresh answer, and that answer may replace the stored one.
    if (this.control.noCache && !this.control.noStore) await this.store(result, undefined);
    return true;
  }

  private lookUpSemantic(): Promise<LookupResult> {
    return this.context.cache.lookupSemantic({
      endpoint: this.endpoint,
      identity: this.identity,
      tenant: this.tenant,
      threshold: this.control.threshold,
      anatomy: this.anatomy,
    });
  }

  /** Verified mode decides this request's semantic hits (a threshold sent with the request decides as the static mode). */
  private get verified(): boolean {
    return this.context.cache.semantic?.mode === 'verified' && this.control.threshold === undefined;
  }

  private answerSemanticHit(found: Extract<LookupResult, { kind: 'semantic' }>): void {
    this.event.similarity = found.similarity;
    const headers: OutgoingHttpHeaders = { ...hitHeaders('SEMANTIC_HIT', found.entry), 'x-deja-similarity': found.similarity.toFixed(4) };
    if (this.verified) {
      headers['x-deja-decision'] = 'exploit';
      this.event.decision = 'exploit';
    }
    const served = {
      endpoint: this.endpoint,
      request: this.identity.keyed,
      exactNumbers: this.identity.exactNumbers,
      question: found.question,
      similarity: found.similarity,
    };
    this.answerFromCache('SEMANTIC_HIT', found.entry, headers, served);
  }

  private answerFromCache(
    outcome: 'HIT' | 'SEMANTIC_HIT',
    entry: CacheEntry,
    headers: OutgoingHttpHeaders,
    served?: Parameters<GatewayContext['revalidator']['maybeRevalidate']>[2],
  ): void {
    const tier = this.context.cache.tierOf(entry);
    if (this.identity.normalized.length) headers['x-deja-normalized'] = this.identity.normalized.join(', ');
    Object.assign(this.event, { outcome, entryId: entry.id, tier }, usageOf(entry.response));
    if (tier === 'team') headers['x-deja-tier'] = 'team';
    sendEntry(this.res, entry, this.wants, headers);
    this.context.revalidator.maybeRevalidate(entry, this.authorization, served);
  }

  /** Shares the upstream call of an identical request already in flight, and says whether there was one. */
  private async join(): Promise<boolean> {
    const running = this.context.flights.get(this.identity.key);
    if (!running) return false;
    await this.exchange(running, { ...outcomeHeaders('MISS'), 'x-deja-coalesced': '1' }, false);
    return true;
  }

  /** Answers from an exchange with the upstream (running it, or joining it), and notes what it cost. */
  private async exchange(flight: Flight, headers: Headers, run: boolean): Promise<FlightResult> {
    const done = sendFromFlight(this.res, this.endpoint, flight, this.wants, headers);
    if (run)
      void flight.run(this.context.upstream, upstreamRequestFor(this.endpoint, this.req, this.request, this.streaming, this.authorization));
    const result = await done;
    this.event.upstreamMs = flight.upstreamMs ?? null;
    Object.assign(this.event, usageOf(answerOf(result)?.response));
    return result;
  }

  private forward(headers: OutgoingHttpHeaders, passThrough = false): Promise<FlightResult> {
    return this.exchange(new Flight(this.streaming, this.endpoint, passThrough), headers, true);
  }

  /**
   * A miss: forwarded, joinable by identical requests until its answer is stored, and, when
   * the semantic level explores, compared with the nearest entry's answer to learn from.
   */
  private async forwardMiss(found: Extract<LookupResult, { kind: 'miss' }>): Promise<void> {
    const headers = outcomeHeaders('MISS');
    // The answer is stored under a key with these masked: the next session's request finds it.
    if (this.identity.normalized.length) headers['x-deja-normalized'] = this.identity.normalized.join(', ');
    if (found.nearestSimilarity !== undefined) {
      headers['x-deja-similarity'] = found.nearestSimilarity.toFixed(4);
      this.event.similarity = found.nearestSimilarity;
    }
    if (found.exploration) {
      headers['x-deja-decision'] = 'explore';
      this.event.decision = 'explore';
    }
    const flight = new Flight(this.streaming, this.endpoint);
    const key = this.identity.key;
    this.context.flights.set(key, flight);
    const unregister = () => {
      if (this.context.flights.get(key) === flight) this.context.flights.delete(key);
    };
    // The headers are read when the upstream answers: by then the text is scanned, and a skip says so.
    const done = this.exchange(flight, () => this.missOrSkipHeaders(headers), false);
    // The exchange stays joinable until its answer is stored, so no identical request slips between.
    void flight
      .run(this.context.upstream, upstreamRequestFor(this.endpoint, this.req, this.request, this.streaming, this.authorization))
      .then(async (result) => {
        if (!this.decidePolicy().cacheable) return;
        const stored = await this.store(result, found.semantic);
        // Only a complete answer, stored, is compared: never a failed or partial one.
        if (stored && found.exploration && found.semantic) void this.learn(found.exploration, found.semantic, stored);
      })
      .catch((error: unknown) => this.context.logger.error('storing an answer failed', { entry: key, error }))
      .finally(unregister);
    if (!this.decision) {
      this.scanPending = () => {
        // A skipped request's exchange is its own: nobody may join it (identical requests decide the same).
        if (!this.decidePolicy().cacheable) unregister();
      };
      // The request is on its way upstream: scan the text now, while the upstream works.
      setImmediate(this.scanPending);
    }
    await done;
  }

  /** A miss's headers, or a skip's when the text scanned while the upstream worked refused it. */
  private missOrSkipHeaders(miss: OutgoingHttpHeaders): OutgoingHttpHeaders {
    const settled = this.decidePolicy();
    return settled.cacheable ? miss : outcomeHeaders('SKIP', settled.reason);
  }

  /** Stores a complete answer; resolves with the entry, or undefined when there was none to store. */
  private async store(result: FlightResult, semantic: SemanticContext | undefined): Promise<CacheEntry | undefined> {
    const answer = answerOf(result);
    if (!answer) return undefined;
    const { endpoint, identity, tenant } = this;
    const stored = await this.context.cache.store({
      endpoint,
      identity,
      tenant,
      model: String(this.request.model),
      ...answer,
      ttlSeconds: this.control.ttlSeconds ?? this.context.options.ttlSeconds,
      semantic,
    });
    if (stored) this.context.live.publish({ type: 'entries/changed', reason: 'stored' });
    return stored;
  }

  /**
   * An exploration's lesson: would the nearest entry's answer have been right for this
   * question? Judged against the upstream's answer just stored, once per exploring request;
   * an entry gone meanwhile is simply gone, and a judge without a verdict records nothing.
   */
  private async learn(exploration: Exploration, semantic: SemanticContext, fresh: CacheEntry): Promise<void> {
    const { cache, judge, logger } = this.context;
    try {
      const nearest = await cache.answeringEntry(exploration.entryId, this.endpoint, semantic.query.partition);
      if (!nearest || !cache.semantic) return;
      const right = await judge.judge({
        endpoint: this.endpoint,
        model: fresh.model,
        question: semantic.query.text,
        stored: nearest.response,
        fresh: fresh.response,
        authorization: this.authorization,
      });
      if (right === undefined) return;
      cache.semantic.observe(nearest.id, this.endpoint, { similarity: exploration.similarity, correct: right, at: Date.now() });
    } catch (error) {
      logger.warn('learning from an exploration failed', { entry: exploration.entryId, error });
    }
  }

  /** Records the event once the response has ended, with the bookkeeping the metrics need. */
  private recordEvent(): void {
    this.scanPending?.();
    this.event.gatewayMs = performance.now() - this.started;
    this.event.status = this.res.statusCode;
    this.context.events.record(this.event);
    if (this.endpoint === 'chat.completions') {
      const model = String(this.request.model);
      this.context.prefixStability.observe(model, systemPrompt(this.request), this.anatomy.tool);
      this.context.prefixStability.observeUserParts(this.anatomy.tool, model, this.anatomy.volatile, (path) =>
        stringAt(this.request, path),
      );
    }
  }
}
