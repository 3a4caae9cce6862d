import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { StreamAssembler } from '../core/openai/streamAssembler';
import { isObject, type Endpoint, type JsonObject } from '../core/types';
import { GatewayError, upstreamFailed } from './errors';
import { SseParser } from './sse';
import { collectBody, toGatewayError, type Upstream, type UpstreamRequest, type UpstreamResponse } from './upstream';

/** Largest non-streamed upstream answer Deja buffers. */
const MAX_UPSTREAM_BODY = 256 * 1024 * 1024;

/** One event of an upstream stream, kept for followers that join late. */
export interface FlightEvent {
  data: string;
  event: string | undefined;
  /** The final usage chunk (`choices: []` with `usage`), hidden from clients that did not ask for it. */
  usageOnly: boolean;
}

/** How an upstream exchange ended. */
export type FlightResult =
  /** A body that was not a stream: any status, passed on unchanged. */
  | {
      kind: 'body';
      status: number;
      headers: IncomingHttpHeaders;
      body: Buffer;
      /** The body as a JSON object, parsed on first use: the client gets the bytes before any parsing. */
      json: () => JsonObject | undefined;
    }
  /** A stream that reached `[DONE]`, assembled into the JSON a non-streaming call returns. */
  | { kind: 'stream'; response: JsonObject; upstreamError: JsonObject | undefined }
  /** No answer, or a stream cut short: nothing may be stored. */
  | { kind: 'failed'; error: GatewayError };

/** The head of a streamed answer, once the upstream has started it. */
export interface StreamHead {
  status: number;
  headers: IncomingHttpHeaders;
}

/**
 * One upstream exchange, shared by every identical request that arrives while it
 * runs. A streamed exchange keeps its events, so a follower that joins late gets
 * them all, then the rest live. When every listener has gone, the upstream call
 * is aborted rather than left to spend GPU time on nobody.
 */
export class Flight {
  readonly events: FlightEvent[] = [];
  /** Resolves when the outcome is known: a stream head, or the final result. */
  readonly started: Promise<StreamHead | FlightResult>;
  readonly result: Promise<FlightResult>;
  private readonly emitter = new EventEmitter();
  private listeners = 0;
  private everListened = false;
  private response: UpstreamResponse | undefined;
  private settled: FlightResult | undefined;
  /** How long the upstream took, from the request to the end of its answer. */
  upstreamMs: number | undefined;
  private runStarted = 0;
  private resolveStarted!: (value: StreamHead | FlightResult) => void;
  private resolveResult!: (value: FlightResult) => void;

  constructor(
    readonly streaming: boolean,
    private readonly endpoint: Endpoint,
    /** Pass any answer on as it came (caching switched off); otherwise a 2xx answer must be one the client can read. */
    private readonly passThrough = false,
  ) {
    this.emitter.setMaxListeners(0);
    this.started = new Promise((resolve) => (this.resolveStarted = resolve));
    this.result = new Promise((resolve) => (this.resolveResult = resolve));
  }

  /**
   * Runs the exchange. Never rejects: failures become a `failed` result. A body that is not a
   * stream is read and finished within the turns its events arrive in (callbacks, not awaits),
   * so a waiting client is answered before the connection's own bookkeeping runs.
   */
  run(upstream: Upstream, request: UpstreamRequest): Promise<FlightResult> {
    this.runStarted = performance.now();
    const fail = (error: unknown) => this.finish({ kind: 'failed', error: toGatewayError(error, upstream.baseUrl) });
    const take = (response: UpstreamResponse) => {
      this.response = response;
      if (this.listeners === 0 && this.everListened) response.abort();
      const contentType = String(response.headers['content-type'] ?? '');
      const ok = response.status >= 200 && response.status < 300;
      if (this.streaming && ok && contentType.includes('text/event-stream')) {
        this.readStream(response).catch(fail);
        return;
      }
      collectBody(response.body, MAX_UPSTREAM_BODY, (error, body) => {
        if (error !== undefined) fail(error);
        else this.readWhole(response, body!);
      });
    };
    try {
      upstream.send(request, {
        onResponse: (response) => {
          try {
            take(response);
          } catch (error) {
            fail(error);
          }
        },
        onError: fail,
      });
    } catch (error) {
      // A request Node refuses to send (an invalid header value): a failure like any other.
      fail(error);
    }
    return this.result;
  }

  /** A listener (a client waiting on this exchange) arrives; returns its release function. */
  listen(): () => void {
    this.listeners++;
    this.everListened = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.listeners--;
      if (this.listeners === 0 && !this.settled) this.response?.abort();
    };
  }

  onEvent(callback: (event: FlightEvent) => void): () => void {
    this.emitter.on('event', callback);
    return () => this.emitter.off('event', callback);
  }

  get done(): boolean {
    return this.settled !== undefined;
  }

  private readWhole(response: UpstreamResponse, body: Buffer): void {
    const contentType = String(response.headers['content-type'] ?? '');
    const isJson = contentType.includes('json');
    const ok = response.status >= 200 && response.status < 300;
    let parsed: JsonObject | undefined | null = null;
    const json = (): JsonObject | undefined => {
      if (parsed === null) {
        parsed = undefined;
        if (isJson || ok) {
          try {
            const value: unknown = JSON.parse(body.toString('utf8'));
            if (isObject(value)) parsed = value;
          } catch {
            // Not JSON after all: passed on as it came (an error status), or refused below (a 2xx); never stored.
          }
        }
      }
      return parsed;
    };
    // A success the client cannot read (an HTML page from a proxy, a truncated body, a stream it
    // did not ask for) is an upstream failure, not an answer; an error that is not JSON (a load
    // balancer's 503 page) keeps its status. Either way the client gets the OpenAI error shape.
    if (!this.passThrough && !json()) {
      const snippet = body.toString('utf8', 0, Math.min(body.length, 120)).replace(/\s+/g, ' ').trim();
      const described = `The upstream answered ${response.status} with ${contentType ? `content-type ${contentType}` : 'no content-type'} and a body that is not a JSON object${snippet ? `: ${snippet}` : ''}`;
      this.finish({
        kind: 'failed',
        error: ok
          ? upstreamFailed({ code: 'upstream_bad_response', message: described })
          : upstreamFailed({ status: response.status >= 400 ? response.status : 502, code: 'upstream_http_error', message: described }),
      });
      return;
    }
    // The right answer under the wrong label (text/plain) is passed on as what it is.
    const headers = ok && !isJson && !this.passThrough ? { ...response.headers, 'content-type': 'application/json' } : response.headers;
    this.finish({ kind: 'body', status: response.status, headers, body, json });
  }

  private async readStream(response: UpstreamResponse): Promise<void> {
    this.resolveStarted({ status: response.status, headers: response.headers });
    const parser = new SseParser();
    const assembler = new StreamAssembler(this.endpoint === 'completions' ? 'completions' : 'chat.completions');
    let sawDone = false;
    let malformed = false;
    let upstreamError: JsonObject | undefined;
    const take = (data: string, event: string | undefined): void => {
      if (data === '[DONE]') {
        sawDone = true;
        return;
      }
      let usageOnly = false;
      let readable = false;
      try {
        const chunk: unknown = JSON.parse(data);
        if (isObject(chunk)) {
          readable = true;
          if (chunk.error !== undefined && chunk.error !== null) upstreamError = chunk;
          else {
            usageOnly = Array.isArray(chunk.choices) && chunk.choices.length === 0 && isObject(chunk.usage);
            assembler.push(chunk);
          }
        }
      } catch {
        // not JSON
      }
      if (!readable && !this.passThrough) {
        // It would only break the client's parser: dropped, and the stream ends with an error event instead of [DONE] (below).
        malformed = true;
        return;
      }
      const flightEvent = { data, event, usageOnly };
      this.events.push(flightEvent);
      this.emitter.emit('event', flightEvent);
    };
    try {
      for await (const chunk of response.body) {
        for (const event of parser.push(chunk as Buffer)) take(event.data, event.event);
      }
      for (const event of parser.end()) take(event.data, event.event);
    } catch (error) {
      const reason = error instanceof GatewayError ? error.message : 'the connection was lost';
      this.finish({
        kind: 'failed',
        error: upstreamFailed({ code: 'upstream_stream_interrupted', message: `The upstream stream broke off: ${reason}`, cause: error }),
      });
      return;
    }
    if (!sawDone) {
      this.finish({
        kind: 'failed',
        error: upstreamFailed({ code: 'upstream_stream_interrupted', message: 'The upstream stream ended before [DONE]' }),
      });
      return;
    }
    if (malformed && !upstreamError) {
      this.finish({
        kind: 'failed',
        error: upstreamFailed({ code: 'upstream_malformed_stream', message: 'The upstream sent a stream event that is not a JSON object' }),
      });
      return;
    }
    this.finish({ kind: 'stream', response: assembler.result(), upstreamError });
  }

  private finish(result: FlightResult): void {
    if (this.settled) return;
    this.settled = result;
    if (this.runStarted) this.upstreamMs = performance.now() - this.runStarted;
    this.resolveStarted(result);
    this.resolveResult(result);
    this.emitter.emit('end', result);
  }

  onEnd(callback: (result: FlightResult) => void): () => void {
    if (this.settled) {
      callback(this.settled);
      return () => {};
    }
    this.emitter.once('end', callback);
    return () => this.emitter.off('end', callback);
  }
}
