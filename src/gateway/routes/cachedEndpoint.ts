import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { readAnatomy } from '../../core/anatomy/promptAnatomy';
import type { ClientHints } from '../../core/anatomy/devTools';
import { identifyRequest, tenantTag } from '../../core/cacheKey';
import type { NewRequestEvent } from '../../core/events/eventLog';
import type { SemanticContext } from '../../core/llmCache';
import { fieldText } from '../../core/policy/policy';
import type { PolicyDecision } from '../../core/policy/policyTypes';
import { validateRequest } from '../../core/validateRequest';
import { ENDPOINT_PATHS, type CacheEntry, type CacheOutcome, type Endpoint, type JsonObject, type JsonValue } from '../../core/types';
import { readCacheControl } from '../cacheControl';
import { invalidRequest } from '../errors';
import { Flight, type FlightResult } from '../flight';
import type { GatewayContext } from '../gatewayContext';
import { jsonBodyOf, rawBodyOf } from '../jsonBody';
import type { Middleware } from '../pipeline';
import { sendEntry, sendFromFlight, type ClientWants } from '../respond';
import { forwardableHeaders, type UpstreamRequest } from '../upstream';

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The Authorization sent upstream: the client's own, else the configured key. */
function upstreamAuthorization(req: IncomingMessage, apiKey: string | undefined): string | undefined {
  const fromClient = req.headers.authorization;
  if (fromClient) return fromClient;
  return apiKey ? `Bearer ${apiKey}` : undefined;
}

/** The request to forward. A streamed call always asks for usage, so a stored answer knows its token counts. */
function upstreamRequestFor(endpoint: Endpoint, req: IncomingMessage, body: JsonObject, streaming: boolean, authorization: string | undefined): UpstreamRequest {
  const streamOptions = isObject(body.stream_options) ? body.stream_options : {};
  const unchanged = !streaming || streamOptions.include_usage === true;
  const raw = unchanged ? rawBodyOf(req) : undefined;
  const forwarded = raw ?? Buffer.from(JSON.stringify(streaming ? { ...body, stream_options: { ...streamOptions, include_usage: true } } : body));
  const headers = forwardableHeaders(req.headers, ['authorization', 'accept-encoding', 'content-type', 'cache-control']);
  headers['content-type'] = 'application/json';
  // Deja reads streams and bodies itself: ask for them uncompressed.
  headers['accept-encoding'] = 'identity';
  if (authorization) headers.authorization = authorization;
  return { method: 'POST', path: ENDPOINT_PATHS[endpoint], headers, body: forwarded };
}

function hitHeaders(outcome: 'HIT' | 'SEMANTIC_HIT', entry: CacheEntry): OutgoingHttpHeaders {
  return {
    'x-deja-cache': outcome,
    'x-deja-entry': entry.id,
    age: String(Math.max(0, Math.floor((Date.now() - entry.createdAt) / 1000))),
  };
}

function outcomeHeaders(outcome: CacheOutcome, reason?: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { 'x-deja-cache': outcome };
  if (reason) headers['x-deja-reason'] = reason;
  return headers;
}

/** Token counts from a response's usage, zero where it has none. */
function usageOf(response: JsonObject | undefined): { promptTokens: number; completionTokens: number } {
  const usage = isObject(response?.usage) ? response.usage : {};
  const count = (value: JsonValue | undefined) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  return { promptTokens: count(usage.prompt_tokens), completionTokens: count(usage.completion_tokens) };
}

/** The answer a finished exchange produced, as JSON, when it produced a complete one. */
function answerOf(result: FlightResult): { response: JsonObject; source: CacheEntry['source'] } | undefined {
  if (result.kind === 'stream' && !result.upstreamError) return { response: result.response, source: 'stream' };
  if (result.kind === 'body' && result.status === 200) {
    const response = result.json();
    if (response) return { response, source: 'json' };
  }
  return undefined;
}

/** What the headers say about the client: the tool's name where its HTTP client sets one. */
function clientHints(req: IncomingMessage): ClientHints {
  const title = req.headers['x-title'];
  const referer = req.headers['http-referer'];
  return {
    userAgent: req.headers['user-agent'],
    title: typeof title === 'string' ? title : undefined,
    referer: typeof referer === 'string' ? referer : undefined,
    headerNames: Object.keys(req.headers),
  };
}

function systemPrompt(body: JsonObject): string | undefined {
  const first = Array.isArray(body.messages) ? body.messages[0] : undefined;
  return isObject(first) && first.role === 'system' && typeof first.content === 'string' ? first.content : undefined;
}

/**
 * POST /v1/chat/completions, /v1/completions and /v1/embeddings: validate,
 * apply the policy, look up (exact, then semantic), and on a miss forward,
 * sharing one upstream call among identical requests. Every request leaves an event.
 */
export function cachedEndpoint(endpoint: Endpoint, context: GatewayContext): Middleware {
  return async (req, res) => {
    const started = performance.now();
    const body = jsonBodyOf(req);
    const problem = validateRequest(endpoint, body);
    if (problem) throw invalidRequest(problem.message, problem.code, problem.param);
    const request = body as JsonObject;
    const control = readCacheControl(req.headers);
    const authorization = upstreamAuthorization(req, context.options.upstreamApiKey);
    const streaming = endpoint !== 'embeddings' && request.stream === true;
    const streamOptions = isObject(request.stream_options) ? request.stream_options : {};
    const wants: ClientWants = { stream: streaming, includeUsage: streaming && streamOptions.include_usage === true };
    // Where the question is, what the tool wrapped around it, and what in that wrapping changes every session.
    const anatomy = readAnatomy(endpoint, request, clientHints(req));

    // What this request leaves for the metrics, filled in as it goes and recorded once its response ends.
    const event: NewRequestEvent = {
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
      stream: streaming,
      tool: anatomy.tool,
    };
    /** A miss whose text is scanned while the upstream works: the event needs the decision, even if the client left first. */
    let scanPending: (() => void) | undefined;
    res.once('close', () => {
      scanPending?.();
      event.gatewayMs = performance.now() - started;
      event.status = res.statusCode;
      context.events.record(event);
      // Bookkeeping for the metrics, done once the client has its answer.
      if (endpoint === 'chat.completions') {
        context.prefixStability.observe(String(request.model), systemPrompt(request), anatomy.tool);
        context.prefixStability.observeUserParts(anatomy.tool, String(request.model), anatomy.volatile, (path) => stringAt(request, path));
      }
    });
    const exchange = async (flight: Flight, headers: OutgoingHttpHeaders | (() => OutgoingHttpHeaders), run: boolean): Promise<FlightResult> => {
      const done = sendFromFlight(res, endpoint, flight, wants, headers);
      if (run) void flight.run(context.upstream, upstreamRequestFor(endpoint, req, request, streaming, authorization));
      const result = await done;
      event.upstreamMs = flight.upstreamMs ?? null;
      Object.assign(event, usageOf(answerOf(result)?.response));
      return result;
    };
    const forward = (headers: OutgoingHttpHeaders, passThrough = false) => exchange(new Flight(streaming, endpoint, passThrough), headers, true);

    if (!context.options.cachingEnabled) {
      Object.assign(event, { outcome: 'BYPASS', reason: 'caching_disabled' });
      await forward(outcomeHeaders('BYPASS', 'caching_disabled'), true);
      return;
    }

    const optOut = control.noStore ? 'no-store' : control.noCache ? 'no-cache' : undefined;
    const policyInput = { endpoint, body: request, clientOptOut: optOut ? `Cache-Control: ${optOut}` : undefined, anatomy };
    // Decided once, when first needed; a skip is noted on the event then.
    let decision: PolicyDecision | undefined;
    const decide = (): PolicyDecision => {
      if (decision) return decision;
      const settled = context.policy.classify(policyInput);
      if (!settled.cacheable) Object.assign(event, { outcome: 'SKIP', reason: settled.reason, rule: settled.rule, span: settled.span ?? null, prompt: promptFor(request, settled.span) });
      decision = settled;
      return settled;
    };
    const tenant = tenantTag(context.upstream.baseUrl, authorization);
    const identity = identifyRequest(endpoint, tenant, request, context.options.normalizeVolatile ? anatomy.volatile : []);
    const ttlSeconds = control.ttlSeconds ?? context.options.ttlSeconds;
    const storeAnswer = (semantic: SemanticContext | undefined) => async (result: FlightResult): Promise<void> => {
      const answer = answerOf(result);
      if (!answer) return;
      const stored = await context.cache.store({ endpoint, identity, tenant, model: String(request.model), ...answer, ttlSeconds, semantic });
      if (stored) context.live.publish({ type: 'entries/changed', reason: 'stored' });
    };
    /** Forwards a request the policy refuses, and says whether it did. */
    const skipped = async (): Promise<boolean> => {
      const settled = decide();
      if (settled.cacheable) return false;
      const result = await forward(outcomeHeaders('SKIP', settled.reason));
      // no-cache asks for a fresh answer, and that answer may replace the stored one.
      if (control.noCache && !control.noStore) await storeAnswer(undefined)(result);
      return true;
    };

    // When only the prompt's text decides, a miss scans it while the upstream works rather than before
    // (the scan is the policy's whole cost); every other path decides before it answers or joins.
    if (!context.policy.onlyTextDecides(policyInput) && (await skipped())) return;

    const join = async (): Promise<boolean> => {
      const running = context.flights.get(identity.key);
      if (!running) return false;
      await exchange(running, { ...outcomeHeaders('MISS'), 'x-deja-coalesced': '1' }, false);
      return true;
    };
    const answerFromCache = (outcome: 'HIT' | 'SEMANTIC_HIT', entry: CacheEntry, headers: OutgoingHttpHeaders) => {
      const tier = context.cache.tierOf(entry);
      if (identity.normalized.length) headers['x-deja-normalized'] = identity.normalized.join(', ');
      Object.assign(event, { outcome, entryId: entry.id, tier }, usageOf(entry.response));
      if (tier === 'team') headers['x-deja-tier'] = 'team';
      sendEntry(res, entry, wants, headers);
      context.revalidator.maybeRevalidate(entry, authorization);
    };

    const exact = await context.cache.lookupExact(identity, tenant);
    // Every answer other than a fresh miss needs the decision first.
    if ((exact || context.flights.has(identity.key) || context.cache.semantic) && (await skipped())) return;
    if (exact) {
      answerFromCache('HIT', exact, hitHeaders('HIT', exact));
      return;
    }
    if (await join()) return;
    const found = await context.cache.lookupSemantic({ endpoint, identity, tenant, threshold: control.threshold, anatomy });
    if (found.kind === 'semantic') {
      event.similarity = found.similarity;
      answerFromCache('SEMANTIC_HIT', found.entry, { ...hitHeaders('SEMANTIC_HIT', found.entry), 'x-deja-similarity': found.similarity.toFixed(4) });
      return;
    }
    // The embedding took a moment: an identical request may have started meanwhile.
    if (await join()) return;

    const missHeaders = outcomeHeaders('MISS');
    // The answer is stored under a key with these masked: the next session's request finds it.
    if (identity.normalized.length) missHeaders['x-deja-normalized'] = identity.normalized.join(', ');
    if (found.kind === 'miss' && found.nearestSimilarity !== undefined) {
      missHeaders['x-deja-similarity'] = found.nearestSimilarity.toFixed(4);
      event.similarity = found.nearestSimilarity;
    }
    const flight = new Flight(streaming, endpoint);
    context.flights.set(identity.key, flight);
    const unregister = () => {
      if (context.flights.get(identity.key) === flight) context.flights.delete(identity.key);
    };
    // The headers are read when the upstream answers: by then the text is scanned, and a skip says so.
    const headers = (): OutgoingHttpHeaders => {
      const settled = decide();
      return settled.cacheable ? missHeaders : outcomeHeaders('SKIP', settled.reason);
    };
    const done = exchange(flight, headers, false);
    // The exchange stays joinable until its answer is stored, so no identical request slips between.
    void flight
      .run(context.upstream, upstreamRequestFor(endpoint, req, request, streaming, authorization))
      .then((result) => (decide().cacheable ? storeAnswer(found.kind === 'miss' ? found.semantic : undefined)(result) : undefined))
      .catch((error: unknown) => context.logger.error('storing an answer failed', { entry: identity.key, error }))
      .finally(unregister);
    if (!decision) {
      scanPending = () => {
        // A skipped request's exchange is its own: nobody may join it (identical requests decide the same).
        if (!decide().cacheable) unregister();
      };
      // The request is on its way upstream: scan the text now, while the upstream works.
      setImmediate(scanPending);
    }
    await done;
  };
}

/** The string at a path in the body, if that is what it holds. */
function stringAt(body: JsonObject, path: ReadonlyArray<string | number>): string | undefined {
  let node: JsonValue | undefined = body;
  for (const step of path) node = Array.isArray(node) ? node[step as number] : isObject(node) ? node[step as string] : undefined;
  return typeof node === 'string' ? node : undefined;
}

/** The text a skip's span points into, for the dashboard's highlight. */
function promptFor(body: JsonObject, span: { field: string; text: string } | undefined): string | null {
  if (!span) return null;
  // A header (Cache-Control) is its own text.
  if (span.field === 'cache-control') return span.text;
  const value = body[span.field];
  return fieldText(body, span.field) ?? (typeof value === 'number' ? String(value) : null);
}
