import assert from 'node:assert/strict';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../../src/core/logger';
import {
  answerError,
  errorTypeFor,
  forbidden,
  GatewayError,
  invalidRequest,
  notFound,
  unauthorized,
  upstreamFailed,
} from '../../../src/gateway/errors';
import { answerClientError, refuseConnect } from '../../../src/gateway/httpErrors';
import { sendGatewayError } from '../../../src/gateway/respond';
import { toGatewayError } from '../../../src/gateway/upstream';

/** What a ServerResponse was asked to write. */
function fakeResponse() {
  const set: OutgoingHttpHeaders = {};
  const written = { status: 0, headers: {} as OutgoingHttpHeaders, body: '' };
  const res = {
    headersSent: false,
    destroyed: false,
    getHeader: (name: string) => set[name],
    setHeader: (name: string, value: string) => void (set[name] = value),
    writeHead: (status: number, headers: OutgoingHttpHeaders) => {
      written.status = status;
      written.headers = { ...set, ...headers };
    },
    end: (body?: string) => void (written.body = body ?? ''),
  };
  return { res: res as unknown as ServerResponse, written };
}

/** What a raw answer wrote to its socket, split into head and body. */
function rawWrite(answer: (socket: Duplex) => void): { head: string; body: string } {
  let text = '';
  const socket = { writable: true, on: () => socket, end: (chunk: string) => void (text = chunk), destroy: () => undefined };
  answer(socket as unknown as Duplex);
  const at = text.indexOf('\r\n\r\n');
  return { head: text.slice(0, at), body: text.slice(at + 4) };
}

describe('gateway errors', () => {
  describe('errorTypeFor', () => {
    it('derives the OpenAI type from the status, as each error was typed before', () => {
      const cases: Array<[number, string]> = [
        [400, 'invalid_request_error'],
        [404, 'invalid_request_error'],
        [405, 'invalid_request_error'],
        [408, 'invalid_request_error'],
        [413, 'invalid_request_error'],
        [415, 'invalid_request_error'],
        [431, 'invalid_request_error'],
        [401, 'authentication_error'],
        [403, 'permission_error'],
        [500, 'server_error'],
        [503, 'server_error'],
        [502, 'upstream_error'],
        [504, 'upstream_error'],
      ];
      for (const [status, type] of cases) {
        assert.equal(errorTypeFor(status), type, String(status));
        assert.equal(new GatewayError(status, { code: 'c', message: 'm' }).type, type, String(status));
      }
    });

    it('takes an explicit type over the derived one', () => {
      assert.equal(new GatewayError(429, { code: 'c', message: 'm', type: 'upstream_error' }).type, 'upstream_error');
    });
  });

  describe('GatewayError', () => {
    it('is built by name, with param null unless given', () => {
      const error = new GatewayError(413, { code: 'request_too_large', message: 'too large' });
      assert.ok(error instanceof Error);
      assert.equal(error.name, 'GatewayError');
      assert.deepEqual(
        [error.status, error.type, error.code, error.message, error.param],
        [413, 'invalid_request_error', 'request_too_large', 'too large', null],
      );
      assert.equal('cause' in error, false, 'no cause unless one is given');
    });

    it('writes the OpenAI body, key order included, and never the cause', () => {
      const cause = new Error('connect ECONNREFUSED 127.0.0.1:9');
      const error = new GatewayError(400, { code: 'invalid_value', message: "'to' must be after 'from'", param: 'to', cause });
      assert.equal(error.cause, cause);
      assert.equal(
        JSON.stringify(error.toBody()),
        '{"error":{"message":"\'to\' must be after \'from\'","type":"invalid_request_error","param":"to","code":"invalid_value"}}',
      );
    });
  });

  describe('the factories', () => {
    it('give each its status and type', () => {
      const details = { code: 'some_code', message: 'some message' };
      const made: Array<[GatewayError, number, string]> = [
        [invalidRequest(details), 400, 'invalid_request_error'],
        [unauthorized(details), 401, 'authentication_error'],
        [forbidden(details), 403, 'permission_error'],
        [notFound(details), 404, 'invalid_request_error'],
        [upstreamFailed(details), 502, 'upstream_error'],
      ];
      for (const [error, status, type] of made) {
        assert.deepEqual(
          [error.status, error.type, error.code, error.message, error.param],
          [status, type, 'some_code', 'some message', null],
          `${status}`,
        );
      }
    });

    it('keep param and cause', () => {
      const cause = new Error('underneath');
      const error = notFound({ code: 'entry_not_found', message: 'No entry e1', param: 'id', cause });
      assert.deepEqual(error.toBody(), {
        error: { message: 'No entry e1', type: 'invalid_request_error', param: 'id', code: 'entry_not_found' },
      });
      assert.equal(error.cause, cause);
    });

    it('upstreamFailed: 502 unless told, and upstream_error whatever the status it passes on', () => {
      assert.equal(upstreamFailed({ status: 504, code: 'upstream_timeout', message: 'm' }).status, 504);
      for (const status of [400, 404, 429, 500, 503]) {
        const error = upstreamFailed({ status, code: 'upstream_http_error', message: 'm' });
        assert.deepEqual([error.status, error.type], [status, 'upstream_error'], String(status));
      }
    });
  });

  describe('toGatewayError', () => {
    it('keeps the socket error as the cause, with the message as before', () => {
      const socketError = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
      const unreachable = toGatewayError(socketError, 'http://127.0.0.1:9/v1');
      assert.deepEqual(unreachable.toBody(), {
        error: {
          message: 'Cannot reach the upstream at http://127.0.0.1:9/v1: connect ECONNREFUSED 127.0.0.1:9',
          type: 'upstream_error',
          param: null,
          code: 'upstream_unreachable',
        },
      });
      assert.equal(unreachable.status, 502);
      assert.equal(unreachable.cause, socketError);

      const other = new Error('socket hang up');
      const failed = toGatewayError(other, 'http://up/v1');
      assert.equal(failed.message, 'The upstream at http://up/v1 failed: socket hang up');
      assert.equal(failed.cause, other);
    });

    it('passes a GatewayError through unchanged', () => {
      const timeout = upstreamFailed({ status: 504, code: 'upstream_timeout', message: 'm' });
      assert.equal(toGatewayError(timeout, 'http://up/v1'), timeout);
    });
  });

  describe('the answers', () => {
    it('answerError sends the body with its status and keeps headers already set', () => {
      const { res, written } = fakeResponse();
      res.setHeader('www-authenticate', 'Bearer realm="deja"');
      answerError({} as Logger)(unauthorized({ code: 'invalid_api_key', message: 'no token' }), {} as IncomingMessage, res);
      assert.equal(written.status, 401);
      assert.equal(written.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(written.headers['www-authenticate'], 'Bearer realm="deja"');
      assert.equal(written.headers['x-deja-cache'], 'BYPASS');
      assert.equal(written.body, '{"error":{"message":"no token","type":"authentication_error","param":null,"code":"invalid_api_key"}}');
    });

    it('answerError makes an unknown error a logged 500 server_error', () => {
      const { res, written } = fakeResponse();
      const logged: string[] = [];
      const logger = { error: (message: string) => void logged.push(message) } as unknown as Logger;
      answerError(logger)(new Error('boom'), { method: 'GET', url: '/x' } as IncomingMessage, res);
      assert.equal(written.status, 500);
      assert.equal(
        written.body,
        '{"error":{"message":"Deja hit an internal error; see its log","type":"server_error","param":null,"code":"internal_error"}}',
      );
      assert.equal(logged.length, 1);
    });

    it('sendGatewayError sends the same body (an upstream failure)', () => {
      const { res, written } = fakeResponse();
      sendGatewayError(res, upstreamFailed({ code: 'upstream_bad_response', message: 'not JSON' }), { 'x-deja-cache': 'MISS' });
      assert.equal(written.status, 502);
      assert.equal(written.headers['content-type'], 'application/json');
      assert.equal(written.headers['x-deja-cache'], 'MISS');
      assert.equal(written.body, '{"error":{"message":"not JSON","type":"upstream_error","param":null,"code":"upstream_bad_response"}}');
    });

    it('a raw socket answer writes the same body, byte for byte as before', () => {
      const connect = rawWrite((socket) => refuseConnect({} as IncomingMessage, socket));
      assert.match(connect.head, /^HTTP\/1\.1 405 Method Not Allowed\r\n/);
      assert.match(connect.head, /\r\nContent-Type: application\/json; charset=utf-8\r\n/);
      assert.equal(
        connect.body,
        '{"error":{"message":"CONNECT is not supported: Deja is an OpenAI API gateway, not a proxy","type":"invalid_request_error","param":null,"code":"method_not_allowed"}}',
      );
      assert.match(connect.head, new RegExp(`\\r\\nContent-Length: ${Buffer.byteLength(connect.body)}\\r\\n`));

      const overflow = rawWrite((socket) =>
        answerClientError(Object.assign(new Error('overflow'), { code: 'HPE_HEADER_OVERFLOW' }), socket),
      );
      assert.match(overflow.head, /^HTTP\/1\.1 431 /);
      assert.equal(
        overflow.body,
        '{"error":{"message":"The request headers are larger than the server accepts","type":"invalid_request_error","param":null,"code":"request_header_fields_too_large"}}',
      );
    });
  });
});
