import type { OutgoingHttpHeaders } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { identifyRequest, tenantTag } from '../../core/cacheKey';
import { validateRequest } from '../../core/validateRequest';
import type { SemanticContext } from '../../core/llmCache';
import { ENDPOINT_PATHS, type CacheEntry, type CacheOutcome, type Endpoint, type JsonObject } from '../../core/types';
import { readCacheControl } from '../cacheControl';
import { invalidRequest } from '../errors';
import { rawBodyOf } from '../jsonBody';
import { Flight, type FlightResult } from '../flight';
import type { GatewayContext } from '../gatewayContext';
import { sendEntry, sendFromFlight, type ClientWants } from '../respond';
import { forwardableHeaders, type UpstreamRequest } from '../upstream';

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The Authorization sent upstream: the client's own, else the configured key. */
function upstreamAuthorization(req: Request, apiKey: string | undefined): string | undefined {
  const fromClient = req.headers.authorization;
  if (fromClient) return fromClient;
  return apiKey ? `Bearer ${apiKey}` : undefined;
}

/** The request to forward. A streamed call always asks for usage, so a stored answer knows its token counts. */
function upstreamRequestFor(endpoint: Endpoint, req: Request, body: JsonObject, streaming: boolean, authorization: string | undefined): UpstreamRequest {
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

/**
 * POST /v1/chat/completions, /v1/completions and /v1/embeddings: validate, look
 * up, and on a miss forward, sharing one upstream call among identical requests.
 */
export function cachedEndpoint(endpoint: Endpoint, context: GatewayContext): RequestHandler {
  return async (req: Request, res: Response) => {
    const body: unknown = req.body;
    const problem = validateRequest(endpoint, body);
    if (problem) throw invalidRequest(problem.message, problem.code, problem.param);
    const request = body as JsonObject;
    const control = readCacheControl(req.headers);
    const authorization = upstreamAuthorization(req, context.options.upstreamApiKey);
    const streaming = endpoint !== 'embeddings' && request.stream === true;
    const streamOptions = isObject(request.stream_options) ? request.stream_options : {};
    const wants: ClientWants = { stream: streaming, includeUsage: streaming && streamOptions.include_usage === true };
    const forward = (headers: OutgoingHttpHeaders): Promise<FlightResult> => {
      const flight = new Flight(streaming, endpoint);
      const done = sendFromFlight(res, endpoint, flight, wants, headers);
      void flight.run(context.upstream, upstreamRequestFor(endpoint, req, request, streaming, authorization));
      return done;
    };

    if (!context.options.cachingEnabled) {
      await forward(outcomeHeaders('BYPASS', 'caching_disabled'));
      return;
    }
    if (control.noStore) {
      await forward(outcomeHeaders('SKIP', 'client_opt_out'));
      return;
    }

    const tenant = tenantTag(context.upstream.baseUrl, authorization);
    const identity = identifyRequest(endpoint, tenant, request);
    const ttlSeconds = control.ttlSeconds ?? context.options.ttlSeconds;
    const storeAnswer = (semantic: SemanticContext | undefined) => async (result: FlightResult): Promise<void> => {
      let response: JsonObject | undefined;
      let source: CacheEntry['source'] = 'json';
      if (result.kind === 'stream' && !result.upstreamError) {
        response = result.response;
        source = 'stream';
      } else if (result.kind === 'body' && result.status === 200) {
        response = result.json();
      }
      if (response) {
        await context.cache.store({ endpoint, identity, tenant, model: String(request.model), response, source, ttlSeconds, semantic });
      }
    };

    // no-cache wants a fresh answer: it neither joins a running exchange nor is joined.
    if (control.noCache) {
      const result = await forward(outcomeHeaders('SKIP', 'client_opt_out'));
      await storeAnswer(undefined)(result);
      return;
    }

    const join = async (): Promise<boolean> => {
      const running = context.flights.get(identity.key);
      if (!running) return false;
      await sendFromFlight(res, endpoint, running, wants, { ...outcomeHeaders('MISS'), 'x-deja-coalesced': '1' });
      return true;
    };

    const query = { endpoint, identity, tenant, threshold: control.threshold };
    const exact = await context.cache.lookupExact(identity, tenant);
    if (exact) {
      sendEntry(res, exact, wants, hitHeaders('HIT', exact));
      return;
    }
    if (await join()) return;
    const found = await context.cache.lookupSemantic(query);
    if (found.kind === 'semantic') {
      sendEntry(res, found.entry, wants, { ...hitHeaders('SEMANTIC_HIT', found.entry), 'x-deja-similarity': found.similarity.toFixed(4) });
      return;
    }
    // The embedding took a moment: an identical request may have started meanwhile.
    if (await join()) return;

    const missHeaders = outcomeHeaders('MISS');
    if (found.kind === 'miss' && found.nearestSimilarity !== undefined) missHeaders['x-deja-similarity'] = found.nearestSimilarity.toFixed(4);
    const flight = new Flight(streaming, endpoint);
    context.flights.set(identity.key, flight);
    const done = sendFromFlight(res, endpoint, flight, wants, missHeaders);
    // The exchange stays joinable until its answer is stored, so no identical request slips between.
    void flight
      .run(context.upstream, upstreamRequestFor(endpoint, req, request, streaming, authorization))
      .then(storeAnswer(found.kind === 'miss' ? found.semantic : undefined))
      .catch((error: unknown) => context.logger.error('storing an answer failed', { entry: identity.key, error }))
      .finally(() => context.flights.delete(identity.key));
    await done;
  };
}
