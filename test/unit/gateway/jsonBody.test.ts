import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { Request } from 'express';
import { type GatewayError } from '../../../src/gateway/errors';
import { exactNumbersOf, jsonBody, jsonTextProblem, rawBodyOf } from '../../../src/gateway/jsonBody';
import { upstreamRequestFor } from '../../../src/gateway/routes/requestParts';
import type { JsonObject } from '../../../src/core/types';

function fakeRequest(chunks: Array<string | Buffer>, headers: Record<string, string> = {}): Request {
  const stream = new PassThrough();
  Object.assign(stream, { headers });
  setImmediate(() => {
    for (const chunk of chunks) stream.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    stream.end();
  });
  return stream as unknown as Request;
}

function run(limit: number, req: Request): Promise<GatewayError | undefined> {
  return new Promise((resolve) => jsonBody(limit)(req, {} as never, (error?: unknown) => resolve(error as GatewayError | undefined)));
}

describe('jsonBody', () => {
  it('parses a body split into chunks (a multi-byte character across the cut) and keeps its bytes', async () => {
    const text = '{"model":"m","messages":[{"role":"user","content":"héllo"}]}';
    const bytes = Buffer.from(text);
    const cut = bytes.indexOf(Buffer.from('é')) + 1;
    const req = fakeRequest([bytes.subarray(0, cut), bytes.subarray(cut)]);
    assert.equal(await run(1024, req), undefined);
    assert.equal((req.body as { messages: Array<{ content: string }> }).messages[0]!.content, 'héllo');
    assert.equal(rawBodyOf(req)?.toString('utf8'), text);
  });

  it('refuses invalid JSON, an empty body, compressed bodies and bodies over the limit', async () => {
    assert.equal((await run(1024, fakeRequest(['{"a": }'])))?.code, 'invalid_json');
    assert.equal((await run(1024, fakeRequest([' '])))?.code, 'invalid_body');
    assert.equal((await run(1024, fakeRequest(['{}'], { 'content-encoding': 'gzip' })))?.status, 415);
    assert.equal((await run(10, fakeRequest(['{"a":"0123456789"}'])))?.status, 413);
    assert.equal((await run(10, fakeRequest(['{}'], { 'content-length': '5000' })))?.status, 413);
  });

  it('keeps the numbers JSON.parse rounds as the client wrote them, and none when there are none', async () => {
    const text =
      '{"model":"m","messages":[{"role":"user","content":"9007199254740993"}],"seed":9007199254740993,"logit_bias":{"7":0.1000000000000000000001},"temperature":1e-5}';
    const req = fakeRequest([text]);
    assert.equal(await run(1024, req), undefined);
    assert.equal((req.body as { seed: number }).seed, 9007199254740992);
    assert.deepEqual(exactNumbersOf(req), [
      { path: ['seed'], text: '9007199254740993' },
      { path: ['logit_bias', '7'], text: '0.1000000000000000000001' },
    ]);
    const plain = fakeRequest(['{"model":"m","seed":42,"temperature":0.7,"top_p":1e-3,"n":123456789012345}']);
    assert.equal(await run(1024, plain), undefined);
    assert.equal(exactNumbersOf(plain), undefined);
  });

  it('forwards the digits: the raw bytes, or a body written again with the numbers as they came', async () => {
    const text =
      '{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"seed":9007199254740993,"tools":[{"type":"function","function":{"name":"f","parameters":{"maximum":18446744073709551617}}}]}';
    const req = fakeRequest([text], { authorization: 'Bearer k' });
    assert.equal(await run(4096, req), undefined);
    // Streaming without include_usage: the body is written again, to ask for usage.
    const streamed = upstreamRequestFor('chat.completions', req, req.body as JsonObject, true, 'Bearer k').body!.toString('utf8');
    assert.match(streamed, /"seed":9007199254740993[,}]/);
    assert.match(streamed, /"maximum":18446744073709551617[,}]/);
    assert.match(streamed, /"stream_options":\{"include_usage":true\}/);
    // Not streaming: the client's bytes, untouched.
    assert.equal(upstreamRequestFor('chat.completions', req, req.body as JsonObject, false, undefined).body!.toString('utf8'), text);
  });

  it('still refuses what it refused: bad JSON, 1e999, too deep, whatever long numbers come with it', async () => {
    assert.equal((await run(1024, fakeRequest(['{"seed":9007199254740993,}'])))?.code, 'invalid_json');
    assert.equal((await run(1024, fakeRequest(['{"seed":9007199254740993,"top_k":1e999}'])))?.code, 'invalid_value');
    assert.equal((await run(1024, fakeRequest(['{"top_k":-1e400,"seed":9007199254740993}'])))?.code, 'invalid_value');
    assert.equal(
      (await run(1024, fakeRequest([`{"seed":9007199254740993,"x":${'['.repeat(200)}${']'.repeat(200)}}`])))?.code,
      'invalid_body',
    );
    assert.equal(jsonTextProblem('{"a":"9007199254740993 in a string"}', 128), undefined);
    assert.equal(jsonTextProblem('{"a":123456789012345,"b":1e-5,"c":-0.5}', 128), undefined);
    assert.equal(jsonTextProblem('{"a":[9007199254740993]}', 128), 'inexact_number');
  });
});
