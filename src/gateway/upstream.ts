import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { GatewayError, upstreamFailed } from './errors';

export interface UpstreamRequest {
  method: string;
  /** Path under the upstream base URL, starting with `/` (e.g. `/chat/completions`). */
  path: string;
  /** The path is from the server's root instead (e.g. `/metrics`). */
  root?: boolean;
  headers: http.OutgoingHttpHeaders;
  /** A buffered body can be retried once on a stale keep-alive socket; a stream cannot. */
  body?: Buffer | Readable;
}

export interface UpstreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
  /** Aborts the exchange; the body stream ends with an error. */
  abort(): void;
}

export interface UpstreamOptions {
  /** The OpenAI base URL, `/v1` included. */
  baseUrl: string;
  /** Longest wait for the response headers, and between two chunks of the body. */
  timeoutMs: number;
}

/** Headers that describe one hop, never forwarded (RFC 9110 §7.6.1), plus the ones Deja owns. */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

/** Client headers worth passing upstream: everything but hop-by-hop and Deja's own controls. */
export function forwardableHeaders(headers: http.IncomingHttpHeaders, drop: readonly string[] = []): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || NOT_FORWARDED.has(name) || name.startsWith('x-deja-') || drop.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EPROTO',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/** How `Upstream.send` reports: the response head, or a failure before it (never both). */
export interface UpstreamCallbacks {
  onResponse(response: UpstreamResponse): void;
  onError(error: unknown): void;
}

/** The upstream OpenAI server (vLLM), reached over keep-alive connections. */
export class Upstream {
  readonly baseUrl: string;
  private readonly base: URL;
  /** The base URL's path without a trailing slash, e.g. `/v1`. */
  private readonly basePath: string;
  private readonly client: typeof http | typeof https;
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;

  constructor(options: UpstreamOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.base = new URL(this.baseUrl);
    this.basePath = this.base.pathname.replace(/\/+$/, '');
    const secure = this.base.protocol === 'https:';
    this.client = secure ? https : http;
    const agentOptions = { keepAlive: true, scheduling: 'lifo' as const };
    this.agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.timeoutMs = options.timeoutMs;
  }

  /** The server's root (for `/metrics`), without the `/v1` part of the base URL. */
  get origin(): string {
    return this.base.origin;
  }

  request(request: UpstreamRequest): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => this.send(request, { onResponse: resolve, onError: reject }));
  }

  /**
   * `request` with callbacks, called as the events happen: the miss path reads the body
   * and answers within the response's own turn, where awaiting a promise would queue it
   * behind the connection's bookkeeping.
   */
  send(request: UpstreamRequest, callbacks: UpstreamCallbacks): void {
    this.attempt(request, true, callbacks);
  }

  private attempt(request: UpstreamRequest, mayRetry: boolean, callbacks: UpstreamCallbacks): void {
    let settled = false;
    let response: http.IncomingMessage | undefined;
    const req = this.client.request({
      protocol: this.base.protocol,
      hostname: this.base.hostname,
      port: this.base.port,
      method: request.method,
      path: request.root ? request.path : `${this.basePath}${request.path}`,
      headers: Buffer.isBuffer(request.body) ? { ...request.headers, 'content-length': request.body.length } : request.headers,
      agent: this.agent,
    });
    req.setTimeout(this.timeoutMs, () => {
      const timeout = upstreamFailed({
        status: 504,
        code: 'upstream_timeout',
        message: `The upstream at ${this.baseUrl} sent nothing for ${formatSeconds(this.timeoutMs)}`,
      });
      // Destroy the body with the same error, so that a reader sees a timeout and not a reset.
      response?.destroy(timeout);
      req.destroy(timeout);
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      // A kept-alive socket the server closed meanwhile: one fresh try is safe for a buffered body.
      if (mayRetry && req.reusedSocket && error.code === 'ECONNRESET' && (request.body === undefined || Buffer.isBuffer(request.body))) {
        this.attempt(request, false, callbacks);
        return;
      }
      callbacks.onError(toGatewayError(error, this.baseUrl));
    });
    req.on('response', (res) => {
      if (settled) {
        res.destroy();
        return;
      }
      settled = true;
      response = res;
      callbacks.onResponse({
        status: res.statusCode ?? 502,
        headers: res.headers,
        body: res,
        abort: () => req.destroy(),
      });
    });
    const body = request.body;
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  }

  close(): void {
    this.agent.destroy();
  }
}

function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}

/** Maps a socket-level failure to a 502 in the OpenAI error shape (a timeout is already a 504), keeping it as the cause. */
export function toGatewayError(error: unknown, baseUrl: string): GatewayError {
  if (error instanceof GatewayError) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  const detail = (error as Error)?.message ?? String(error);
  const message =
    code && UNREACHABLE_CODES.has(code)
      ? `Cannot reach the upstream at ${baseUrl}: ${detail}`
      : `The upstream at ${baseUrl} failed: ${detail}`;
  return upstreamFailed({ code: 'upstream_unreachable', message, cause: error });
}

/** Reads a whole response body, failing with 502 past `limit` bytes. */
export function readBody(body: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => collectBody(body, limit, (error, whole) => (error ? reject(error) : resolve(whole!))));
}

/** `readBody` with a callback, called once: in the turn the body ends, or with the first failure. */
export function collectBody(body: Readable, limit: number, done: (error: unknown, whole?: Buffer) => void): void {
  // Plain listeners: an async iterator costs noticeably more per chunk on the hot path.
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (error: unknown, whole?: Buffer) => {
    if (finished) return;
    finished = true;
    done(error, whole);
  };
  body.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      finish(upstreamFailed({ code: 'upstream_response_too_large', message: `The upstream answer is larger than ${limit} bytes` }));
      return;
    }
    chunks.push(chunk);
  });
  body.once('end', () => finish(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
  body.once('error', (error) => finish(error));
  body.once('close', () => {
    if (!body.readableEnded) finish(new Error('aborted'));
  });
}
