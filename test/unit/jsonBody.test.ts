import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { Request } from 'express';
import { GatewayError } from '../../src/gateway/errors';
import { jsonBody, rawBodyOf } from '../../src/gateway/jsonBody';

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
});
