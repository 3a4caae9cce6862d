import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../core/logger';
import type { ErrorResponder } from './pipeline';

/** The `type` of an OpenAI error body, as Deja uses it. */
export type OpenAiErrorType = 'invalid_request_error' | 'authentication_error' | 'permission_error' | 'server_error' | 'upstream_error';

/** The OpenAI error body: `{"error":{"message","type","param","code"}}`. */
export interface OpenAiErrorBody {
  error: { message: string; type: OpenAiErrorType; param: string | null; code: string | null };
}

/** What an error says, by name: everything but its status. */
export interface ErrorDetails {
  /** OpenAI's `code`, for a program to branch on: `invalid_value`, `upstream_timeout`. */
  code: string;
  /** For the person reading it; it becomes the body's `message`. */
  message: string;
  /** The offending field or header, as OpenAI's `param`. */
  param?: string | null;
  /** What went wrong underneath (a socket error), kept as the Error's `cause` for whoever logs it; never sent to the client. */
  cause?: unknown;
}

export interface GatewayErrorOptions extends ErrorDetails {
  /** Only where the status does not say it: an upstream's own status passed on (`upstreamFailed`). */
  type?: OpenAiErrorType;
}

/**
 * The `type` a status implies: 401 `authentication_error`, 403 `permission_error`, 502 and 504
 * (the upstream failed or timed out) `upstream_error`, any other 5xx `server_error`, and every
 * other status `invalid_request_error` (OpenAI's type for a 404 too).
 */
export function errorTypeFor(status: number): OpenAiErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 502 || status === 504) return 'upstream_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** An error the gateway answers with, rendered in the OpenAI shape by one middleware. */
export class GatewayError extends Error {
  readonly type: OpenAiErrorType;
  readonly code: string;
  readonly param: string | null;

  constructor(
    readonly status: number,
    { code, message, param = null, cause, type = errorTypeFor(status) }: GatewayErrorOptions,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'GatewayError';
    this.type = type;
    this.code = code;
    this.param = param;
  }

  /** The one place the OpenAI error body is written: every error answer, raw, JSON or SSE, sends this. */
  toBody(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400: the request is wrong (a field, a header, the body). */
export const invalidRequest = (details: ErrorDetails): GatewayError => new GatewayError(400, details);

/** 401: a token is missing or wrong. */
export const unauthorized = (details: ErrorDetails): GatewayError => new GatewayError(401, details);

/** 403: refused whatever the token (a foreign Host, a web page's Origin). */
export const forbidden = (details: ErrorDetails): GatewayError => new GatewayError(403, details);

/** 404: no such route, or no such thing at a route that exists. */
export const notFound = (details: ErrorDetails): GatewayError => new GatewayError(404, details);

/**
 * The upstream failed: 502 unless `status` says otherwise (504 for a timeout, or the
 * upstream's own status passed on), always typed `upstream_error`. Keep the socket error as `cause`.
 */
export const upstreamFailed = ({ status = 502, ...details }: ErrorDetails & { status?: number }): GatewayError =>
  new GatewayError(status, { ...details, type: 'upstream_error' });

export function sendError(res: ServerResponse, error: GatewayError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify(error.toBody());
  // Headers set before the error (x-deja-cache, www-authenticate) are kept: writeHead merges them.
  res.writeHead(error.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The URL as the client sent it (express rewrites `req.url` inside mounted routers). */
function requestUrl(req: IncomingMessage): string {
  return (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
}

/** The one place an error becomes an HTTP answer. Unknown errors are a 500 and are logged. */
export function answerError(logger: Logger): ErrorResponder {
  return (error, req, res) => {
    let gatewayError: GatewayError;
    if (error instanceof GatewayError) gatewayError = error;
    else if (error instanceof URIError) {
      // The router decodes path parameters; a bad escape such as /v1/% is the client's mistake, not a 500.
      gatewayError = invalidRequest({
        code: 'invalid_path',
        message: `The request path is not valid percent-encoding: ${requestUrl(req).slice(0, 200)}`,
      });
    } else {
      logger.error('unexpected error while handling a request', { method: req.method, path: requestUrl(req).split('?')[0], error });
      gatewayError = new GatewayError(500, { code: 'internal_error', message: 'Deja hit an internal error; see its log' });
    }
    if (!res.headersSent && !res.getHeader('x-deja-cache')) res.setHeader('x-deja-cache', 'BYPASS');
    sendError(res, gatewayError);
  };
}

/** `answerError` as express's error middleware, for the routes express serves. */
export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  const answer = answerError(logger);
  return (error, req, res, _next) => answer(error, req, res);
}
