import type { RequestHandler } from 'express';
import { GatewayError, invalidRequest } from './errors';

const rawBodies = new WeakMap<object, Buffer>();

/** The bytes a JSON body was parsed from, to forward unchanged when nothing in it changes. */
export function rawBodyOf(req: object): Buffer | undefined {
  return rawBodies.get(req);
}

/**
 * Reads a JSON request body into `req.body`, whatever its Content-Type (some
 * clients send none). Leaner than body-parser on the hot path, with the same
 * guarantees: a size limit checked before and while reading, UTF-8, and a 400
 * that says where the JSON broke.
 */
export function jsonBody(limit: number): RequestHandler {
  const tooLarge = () =>
    new GatewayError(413, 'invalid_request_error', 'request_too_large', `The request body is larger than the limit of ${limit} bytes`);
  return (req, _res, next) => {
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity') {
      next(new GatewayError(415, 'invalid_request_error', 'unsupported_encoding', `Content-Encoding ${encoding} is not supported; send the body uncompressed`));
      return;
    }
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      req.resume();
      next(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (error: GatewayError) => {
      if (failed) return;
      failed = true;
      req.removeAllListeners('data');
      req.resume();
      next(error);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) fail(tooLarge());
      else chunks.push(chunk);
    });
    req.on('error', () => fail(new GatewayError(400, 'invalid_request_error', 'request_aborted', 'The client aborted the request body')));
    req.on('end', () => {
      if (failed) return;
      const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const text = raw.toString('utf8');
      if (text.trim() === '') {
        fail(invalidRequest('The request body is empty; send a JSON object', 'invalid_body'));
        return;
      }
      try {
        req.body = JSON.parse(text);
        rawBodies.set(req, raw);
      } catch (error) {
        fail(invalidRequest(`The request body is not valid JSON: ${(error as Error).message}`, 'invalid_json'));
        return;
      }
      next();
    });
  };
}
