import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../core/logger';
import type { ErrorResponder } from './pipeline';

/** The OpenAI error body: `{"error":{"message","type","param","code"}}`. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error the gateway answers with, rendered in the OpenAI shape by one middleware. */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'GatewayError';
  }

  toBody(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const invalidRequest = (message: string, code: string, param: string | null = null): GatewayError =>
  new GatewayError(400, 'invalid_request_error', code, message, param);

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
      gatewayError = invalidRequest(`The request path is not valid percent-encoding: ${requestUrl(req).slice(0, 200)}`, 'invalid_path');
    } else {
      logger.error('unexpected error while handling a request', { method: req.method, path: requestUrl(req).split('?')[0], error });
      gatewayError = new GatewayError(500, 'server_error', 'internal_error', 'Deja hit an internal error; see its log');
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
