/**
 * The pieces a cached request is made of: what goes upstream, the headers of each outcome,
 * what a finished exchange produced, and what the headers and body tell about the client.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { ClientHints } from '../../core/anatomy/devTools';
import { fieldText } from '../../core/policy/policy';
import { exactTree, stringifyExact } from '../../core/exactNumbers';
import {
  isObject,
  ENDPOINT_PATHS,
  type CacheEntry,
  type CacheOutcome,
  type Endpoint,
  type JsonObject,
  type JsonValue,
} from '../../core/types';
import type { FlightResult } from '../flight';
import { exactNumbersOf, rawBodyOf } from '../jsonBody';
import { forwardableHeaders, type UpstreamRequest } from '../upstream';

/** The Authorization sent upstream: the client's own, else the configured key. */
export function upstreamAuthorization(req: IncomingMessage, apiKey: string | undefined): string | undefined {
  const fromClient = req.headers.authorization;
  if (fromClient) return fromClient;
  return apiKey ? `Bearer ${apiKey}` : undefined;
}

/**
 * The request to forward: the client's own bytes, unless it streams without asking for usage.
 * A streamed call always asks for usage, so a stored answer knows its token counts; the body
 * is then written again, with the numbers JSON.parse rounded written as the client wrote them.
 */
export function upstreamRequestFor(
  endpoint: Endpoint,
  req: IncomingMessage,
  body: JsonObject,
  streaming: boolean,
  authorization: string | undefined,
): UpstreamRequest {
  const streamOptions = isObject(body.stream_options) ? body.stream_options : {};
  const unchanged = !streaming || streamOptions.include_usage === true;
  const raw = unchanged ? rawBodyOf(req) : undefined;
  const forwarded =
    raw ?? Buffer.from(jsonText(streaming ? { ...body, stream_options: { ...streamOptions, include_usage: true } } : body, req));
  const headers = forwardableHeaders(req.headers, ['authorization', 'accept-encoding', 'content-type', 'cache-control']);
  headers['content-type'] = 'application/json';
  // Deja reads streams and bodies itself: ask for them uncompressed.
  headers['accept-encoding'] = 'identity';
  if (authorization) headers.authorization = authorization;
  return { method: 'POST', path: ENDPOINT_PATHS[endpoint], headers, body: forwarded };
}

/** A body as JSON text, its numbers as the client of `req` wrote them. */
function jsonText(body: JsonObject, req: IncomingMessage): string {
  const exact = exactTree(exactNumbersOf(req));
  return exact ? stringifyExact(body, exact) : JSON.stringify(body);
}

export function hitHeaders(outcome: 'HIT' | 'SEMANTIC_HIT', entry: CacheEntry): OutgoingHttpHeaders {
  return {
    'x-deja-cache': outcome,
    'x-deja-entry': entry.id,
    age: String(Math.max(0, Math.floor((Date.now() - entry.createdAt) / 1000))),
  };
}

export function outcomeHeaders(outcome: CacheOutcome, reason?: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { 'x-deja-cache': outcome };
  if (reason) headers['x-deja-reason'] = reason;
  return headers;
}

/** Token counts from a response's usage, zero where it has none. */
export function usageOf(response: JsonObject | undefined): { promptTokens: number; completionTokens: number } {
  const usage = isObject(response?.usage) ? response.usage : {};
  const count = (value: JsonValue | undefined) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  return { promptTokens: count(usage.prompt_tokens), completionTokens: count(usage.completion_tokens) };
}

/** The answer a finished exchange produced, as JSON, when it produced a complete one. */
export function answerOf(result: FlightResult): { response: JsonObject; source: CacheEntry['source'] } | undefined {
  if (result.kind === 'stream' && !result.upstreamError) return { response: result.response, source: 'stream' };
  if (result.kind === 'body' && result.status === 200) {
    const response = result.json();
    if (response) return { response, source: 'json' };
  }
  return undefined;
}

/** What the headers say about the client: the tool's name where its HTTP client sets one. */
export function clientHints(req: IncomingMessage): ClientHints {
  const title = req.headers['x-title'];
  const referer = req.headers['http-referer'];
  return {
    userAgent: req.headers['user-agent'],
    title: typeof title === 'string' ? title : undefined,
    referer: typeof referer === 'string' ? referer : undefined,
    headerNames: Object.keys(req.headers),
  };
}

export function systemPrompt(body: JsonObject): string | undefined {
  const first = Array.isArray(body.messages) ? body.messages[0] : undefined;
  return isObject(first) && first.role === 'system' && typeof first.content === 'string' ? first.content : undefined;
}

/** The string at a path in the body, if that is what it holds. */
export function stringAt(body: JsonObject, path: ReadonlyArray<string | number>): string | undefined {
  let node: JsonValue | undefined = body;
  for (const step of path) node = Array.isArray(node) ? node[step as number] : isObject(node) ? node[step as string] : undefined;
  return typeof node === 'string' ? node : undefined;
}

/** The text a skip's span points into, for the dashboard's highlight. */
export function promptFor(body: JsonObject, span: { field: string; text: string } | undefined): string | null {
  if (!span) return null;
  // A header (Cache-Control) is its own text.
  if (span.field === 'cache-control') return span.text;
  const value = body[span.field];
  return fieldText(body, span.field) ?? (typeof value === 'number' ? String(value) : null);
}
