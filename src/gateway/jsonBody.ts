import type { IncomingMessage } from 'node:http';
import { inexactNumbersIn, isInexactNumber, type ExactNumber } from '../core/exactNumbers';
import { GatewayError, invalidRequest } from './errors';
import type { Middleware } from './pipeline';

const rawBodies = new WeakMap<object, Buffer>();
const exactNumbers = new WeakMap<object, ExactNumber[]>();

/** A request once `jsonBody` has read it; express's own Request type has the same field. */
type WithJsonBody = IncomingMessage & { body?: unknown };

/** The parsed JSON body `jsonBody` left on the request. */
export function jsonBodyOf(req: IncomingMessage): unknown {
  return (req as WithJsonBody).body;
}

/** The bytes a JSON body was parsed from, to forward unchanged when nothing in it changes. */
export function rawBodyOf(req: object): Buffer | undefined {
  return rawBodies.get(req);
}

/**
 * The numbers of the body that JSON.parse rounded (a seed past 2^53, a decimal with more digits
 * than a double holds), as the client wrote them; undefined when there were none, as is usual.
 */
export function exactNumbersOf(req: object): ExactNumber[] | undefined {
  return exactNumbers.get(req);
}

/**
 * Deepest nesting of arrays and objects accepted. Real requests (tool schemas included)
 * stay far below it; deeper input would only exhaust the stack of the code that walks it.
 */
export const MAX_JSON_DEPTH = 128;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** What one pass over a JSON text found: a problem that makes it unfit, or numbers JSON.parse rounded. */
export type JsonTextScan = 'too_deep' | 'number_overflow' | 'inexact_number' | undefined;

/**
 * What makes valid JSON text unfit to key and forward: nesting deeper than `maxDepth`
 * (the code that walks it would exhaust the stack), or a number too large for a double
 * (`1e999` parses to Infinity, which serializes as null: another request's key). Else
 * `inexact_number` when a number loses digits to a double (see core/exactNumbers.ts): the
 * caller then reads those numbers as written. One pass; strings are skipped, and only a
 * number with an exponent or more than 15 characters is looked at closely.
 */
export function jsonTextProblem(text: string, maxDepth: number): JsonTextScan {
  let depth = 0;
  let inString = false;
  let inexact = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return 'too_deep';
    } else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      let exponent = false;
      for (
        let n = text.charCodeAt(i + 1);
        (n >= 0x30 && n <= 0x39) || n === 0x2e || n === 0x2b || n === 0x2d || n === 0x65 || n === 0x45;
        n = text.charCodeAt(++i + 1)
      ) {
        exponent ||= n === 0x65 || n === 0x45;
      }
      // mayBeInexact, inlined: this loop runs for every number of every body.
      if (exponent || i - start >= 15) {
        const literal = text.slice(start, i + 1);
        if (!Number.isFinite(Number(literal))) return 'number_overflow';
        inexact ||= isInexactNumber(literal);
      }
    }
  }
  return inexact ? 'inexact_number' : undefined;
}

/**
 * Reads a JSON request body into `req.body`, whatever its Content-Type (some
 * clients send none). Leaner than body-parser on the hot path, with the same
 * guarantees: a size limit checked before and while reading, UTF-8, and a 400
 * that says where the JSON broke.
 */
export function jsonBody(limit: number): Middleware {
  const tooLarge = () =>
    new GatewayError(413, { code: 'request_too_large', message: `The request body is larger than the limit of ${limit} bytes` });
  return (req, _res, next) => {
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity') {
      next(
        new GatewayError(415, {
          code: 'unsupported_encoding',
          message: `Content-Encoding ${encoding} is not supported; send the body uncompressed`,
        }),
      );
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
    req.on('error', (error) =>
      fail(invalidRequest({ code: 'request_aborted', message: 'The client aborted the request body', cause: error })),
    );
    req.on('end', () => {
      if (failed) return;
      const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      let text: string;
      try {
        // Strict: a lenient decoder would turn different invalid bytes into the same U+FFFD, and the same cache key.
        text = strictUtf8.decode(raw);
      } catch {
        fail(invalidRequest({ code: 'invalid_json', message: 'The request body is not valid UTF-8' }));
        return;
      }
      if (text.trim() === '') {
        fail(invalidRequest({ code: 'invalid_body', message: 'The request body is empty; send a JSON object' }));
        return;
      }
      try {
        (req as WithJsonBody).body = JSON.parse(text);
        rawBodies.set(req, raw);
      } catch (error) {
        fail(invalidRequest({ code: 'invalid_json', message: `The request body is not valid JSON: ${(error as Error).message}` }));
        return;
      }
      const problem = jsonTextProblem(text, MAX_JSON_DEPTH);
      if (problem === 'too_deep') {
        fail(
          invalidRequest({
            code: 'invalid_body',
            message: `The request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`,
          }),
        );
        return;
      }
      if (problem === 'number_overflow') {
        fail(invalidRequest({ code: 'invalid_value', message: 'The request body holds a number too large to represent (such as 1e999)' }));
        return;
      }
      // Rare: a number JSON.parse rounded. The key, the stored request and the forwarded body keep it as written.
      if (problem === 'inexact_number') exactNumbers.set(req, inexactNumbersIn(text));
      next();
    });
  };
}
