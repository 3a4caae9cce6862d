import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { GatewayError, invalidRequest, type ErrorDetails } from './errors';
import type { Middleware } from './pipeline';

/**
 * The answers Node's HTTP server would otherwise give with an empty body (or none), in the
 * OpenAI error shape like every other error: a request it cannot parse (`clientError`), a
 * CONNECT, and an HTTP/1.1 request without a Host header.
 */
function rawAnswer(status: number, details: ErrorDetails): string {
  const body = JSON.stringify(new GatewayError(status, details).toBody());
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'x-deja-cache: BYPASS',
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

/** For `server.on('clientError')`: what Node's default handler does, with a body a client can read. */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // A response already under way on this socket (pipelining) cannot be followed by another.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  let answer: string;
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      answer = rawAnswer(431, {
        code: 'request_header_fields_too_large',
        message: 'The request headers are larger than the server accepts',
      });
      break;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      answer = rawAnswer(413, { code: 'request_too_large', message: 'The chunk extensions are larger than the server accepts' });
      break;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      answer = rawAnswer(408, { code: 'request_timeout', message: 'The request did not arrive in time' });
      break;
    default:
      answer = rawAnswer(400, {
        code: 'invalid_http_request',
        message: `The request is not valid HTTP/1.1 (${error.code ?? 'parse error'})`,
      });
  }
  socket.end(answer);
}

/** For `server.on('connect')`: Deja is no proxy. Without a listener Node would hang up without an answer. */
export function refuseConnect(_req: IncomingMessage, socket: Duplex): void {
  socket.on('error', () => socket.destroy());
  socket.end(
    rawAnswer(405, { code: 'method_not_allowed', message: 'CONNECT is not supported: Deja is an OpenAI API gateway, not a proxy' }),
  );
}

/** Node's `requireHostHeader` check, moved here so that its 400 has a body: the server is created with it off. */
export function requireHostHeader(): Middleware {
  return (req, _res, next) => {
    if (req.httpVersion === '1.1' && req.headers.host === undefined) {
      next(invalidRequest({ code: 'missing_host', message: 'An HTTP/1.1 request needs a Host header' }));
      return;
    }
    next();
  };
}
