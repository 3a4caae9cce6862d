import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { replayChunks } from '../core/openai/streamReplay';
import type { CacheEntry, Endpoint, JsonObject } from '../core/types';
import type { GatewayError } from './errors';
import type { Flight, FlightEvent, FlightResult } from './flight';
import { SSE_DONE, SSE_HEADERS, sseFrame } from './sse';

/** How the client wants its answer. */
export interface ClientWants {
  stream: boolean;
  /** `stream_options.include_usage`: the usage chunk at the end of a stream. */
  includeUsage: boolean;
}

/** Upstream headers not passed on: hop-by-hop, and the ones the body we send redefines. */
const UPSTREAM_HEADERS_DROPPED = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'content-encoding',
  'date',
  'server',
]);

function passableHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !UPSTREAM_HEADERS_DROPPED.has(name)) out[name] = value;
  }
  return out;
}

/** A JSON answer with a status, in one write. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** A complete SSE stream in one write: a stored answer has nothing to wait for. */
function sendReplay(res: ServerResponse, endpoint: Endpoint, response: JsonObject, wants: ClientWants, headers: OutgoingHttpHeaders): void {
  const streamed = endpoint === 'completions' ? 'completions' : 'chat.completions';
  const chunks = replayChunks(streamed, response, { includeUsage: wants.includeUsage });
  const text = chunks.map((chunk) => sseFrame(JSON.stringify(chunk))).join('') + SSE_DONE;
  res.writeHead(200, { ...SSE_HEADERS, ...headers });
  res.end(text);
}

/** Serialized stored answers, kept while the entry object lives (the hot tier reuses it). */
const serializedResponses = new WeakMap<CacheEntry, Buffer>();

/** Answers with a stored entry, as JSON or as a replayed stream. */
export function sendEntry(res: ServerResponse, entry: CacheEntry, wants: ClientWants, headers: OutgoingHttpHeaders): void {
  if (wants.stream && entry.endpoint !== 'embeddings') {
    sendReplay(res, entry.endpoint, entry.response, wants, headers);
    return;
  }
  let body = serializedResponses.get(entry);
  if (!body) {
    body = Buffer.from(JSON.stringify(entry.response));
    serializedResponses.set(entry, body);
  }
  res.writeHead(200, { ...headers, 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

export function sendGatewayError(res: ServerResponse, error: GatewayError, headers: OutgoingHttpHeaders): void {
  sendJson(res, error.status, error.toBody(), headers);
}

/** Answers with a finished exchange, in the form the client asked for where that is possible. */
function sendResult(res: ServerResponse, endpoint: Endpoint, result: FlightResult, wants: ClientWants, headers: OutgoingHttpHeaders): void {
  switch (result.kind) {
    case 'failed':
      sendGatewayError(res, result.error, headers);
      return;
    case 'stream':
      if (result.upstreamError) sendJson(res, 502, result.upstreamError, headers);
      else if (wants.stream) sendReplay(res, endpoint, result.response, wants, headers);
      else sendJson(res, 200, result.response, headers);
      return;
    case 'body': {
      const ok = result.status >= 200 && result.status < 300;
      const json = wants.stream && ok && endpoint !== 'embeddings' ? result.json() : undefined;
      if (json) {
        sendReplay(res, endpoint, json, wants, headers);
        return;
      }
      // Passed on unchanged: status, body and the upstream's own headers.
      const head = Object.assign(passableHeaders(result.headers), headers);
      head['content-length'] = result.body.length;
      res.writeHead(result.status, head);
      res.end(result.body);
      return;
    }
    default: {
      const unreachable: never = result;
      throw new Error(`unknown flight result ${String(unreachable)}`);
    }
  }
}

/**
 * Answers a client from a shared upstream exchange. A streaming client of a
 * streaming exchange gets every event as it arrives (those before it joined
 * first); everyone else gets the finished answer in the form they asked for.
 * Deja's own headers may be given as a function, read when the answer starts.
 */
export async function sendFromFlight(
  res: ServerResponse,
  endpoint: Endpoint,
  flight: Flight,
  wants: ClientWants,
  ownHeaders: OutgoingHttpHeaders | (() => OutgoingHttpHeaders),
): Promise<FlightResult> {
  const headers = () => (typeof ownHeaders === 'function' ? ownHeaders() : ownHeaders);
  const release = flight.listen();
  res.once('close', release);
  if (!(wants.stream && flight.streaming)) {
    // Answered from the flight's end event itself, in the turn the upstream's answer completes.
    return new Promise<FlightResult>((resolve, reject) => {
      flight.onEnd((result) => {
        // Thrown here it would reach the upstream connection's event; rejected, the handler's error answer takes it.
        try {
          if (!res.destroyed) sendResult(res, endpoint, result, wants, headers());
          resolve(result);
        } catch (error) {
          reject(error);
        }
      });
    });
  }
  const start = await flight.started;
  if ('kind' in start) {
    if (!res.destroyed) sendResult(res, endpoint, start, wants, headers());
    return start;
  }
  res.writeHead(start.status, { ...SSE_HEADERS, ...headers() });
  res.flushHeaders();
  const write = (event: FlightEvent): void => {
    if (res.destroyed || (event.usageOnly && !wants.includeUsage)) return;
    res.write(sseFrame(event.data, event.event));
  };
  for (const event of flight.events) write(event);
  const stopEvents = flight.onEvent(write);
  return new Promise<FlightResult>((resolve) => {
    flight.onEnd((result) => {
      stopEvents();
      if (!res.destroyed) {
        if (result.kind === 'failed') res.end(sseFrame(JSON.stringify(result.error.toBody())));
        else res.end(SSE_DONE);
      }
      resolve(result);
    });
  });
}
