import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { chatBody, MODEL, readSse, sleep, startHarness, type Harness } from './harness';

interface ErrorBody {
  error: { message: string; type: string; code: string | number | null; param?: string | null };
}

async function expectError(res: Response, status: number, code: string): Promise<ErrorBody> {
  assert.equal(res.status, status);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = (await res.json()) as ErrorBody;
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 5);
  assert.equal(typeof body.error.type, 'string');
  assert.equal(body.error.code, code);
  return body;
}

describe('bad input and upstream faults', function () {
  let h: Harness;
  /** An entry stored before each test: it must survive whatever the test does. */
  let stored: unknown;
  const keeper = chatBody('an answer that must survive');

  async function assertStillServing(): Promise<void> {
    const res = await h.post('/v1/chat/completions', keeper);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-deja-cache'), 'HIT');
    assert.deepEqual(await res.json(), stored);
  }

  beforeEach(async () => {
    h = await startHarness({ gateway: { upstreamTimeoutMs: 400, maxBodyBytes: 64 * 1024 } });
    stored = await (await h.post('/v1/chat/completions', keeper)).json();
  });
  afterEach(async () => {
    await assertStillServing();
    await h.close();
  });

  it('malformed JSON: 400 invalid_json', async () => {
    const body = await expectError(await h.post('/v1/chat/completions', '{"model": "m", "messages": [}'), 400, 'invalid_json');
    assert.equal(body.error.type, 'invalid_request_error');
  });

  it('a missing or wrongly typed model, messages, prompt or input: 400 naming the field', async () => {
    assert.equal(
      (await expectError(await h.post('/v1/chat/completions', { messages: [] }), 400, 'missing_required_parameter')).error.param,
      'model',
    );
    assert.equal(
      (await expectError(await h.post('/v1/chat/completions', { model: 3, messages: [] }), 400, 'invalid_type')).error.param,
      'model',
    );
    assert.equal(
      (await expectError(await h.post('/v1/chat/completions', { model: MODEL, messages: {} }), 400, 'invalid_type')).error.param,
      'messages',
    );
    assert.equal(
      (await expectError(await h.post('/v1/completions', { model: MODEL }), 400, 'missing_required_parameter')).error.param,
      'prompt',
    );
    assert.equal(
      (await expectError(await h.post('/v1/completions', { model: MODEL, prompt: { a: 1 } }), 400, 'invalid_type')).error.param,
      'prompt',
    );
    assert.equal(
      (await expectError(await h.post('/v1/embeddings', { model: MODEL, input: null }), 400, 'invalid_type')).error.param,
      'input',
    );
    await expectError(await h.post('/v1/chat/completions', '[1,2]'), 400, 'invalid_body');
    await expectError(await h.post('/v1/chat/completions', 'null'), 400, 'invalid_body');
    assert.equal(h.sim.calls('/v1/chat/completions'), 1, 'nothing invalid reached the upstream');
  });

  it('the SDK surfaces a 400 as a BadRequestError', async () => {
    await assert.rejects(
      h.client.chat.completions.create({ model: MODEL, messages: 'hello' as never }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && /messages/.test(error.message),
    );
  });

  it('a body over the size limit: 413', async () => {
    const huge = chatBody('x'.repeat(100 * 1024));
    await expectError(await h.post('/v1/chat/completions', huge), 413, 'request_too_large');
  });

  it('an unknown route: 404 in the OpenAI shape', async () => {
    await expectError(await fetch(`${h.gateway.url}/nope`), 404, 'not_found');
  });

  it('upstream 4xx and 5xx are passed through unchanged and never cached', async () => {
    for (const status of [400, 429, 500, 503]) {
      const body = chatBody(`fail with ${status}`);
      const first = await h.post('/v1/chat/completions', body, { 'x-sim-fault': `status:${status}` });
      assert.equal(first.status, status);
      const upstreamBody = (await first.json()) as ErrorBody;
      assert.equal(upstreamBody.error.code, status, 'the upstream body, unchanged');
      assert.equal(upstreamBody.error.message, `Simulated failure with status ${status}`);
      assert.equal(first.headers.get('x-deja-cache'), 'MISS');
      const retry = await h.post('/v1/chat/completions', body);
      assert.equal(retry.status, 200);
      assert.equal(retry.headers.get('x-deja-cache'), 'MISS', `a ${status} was not stored`);
    }
  });

  it('upstream unreachable: 502 upstream_unreachable, and the SDK sees an APIError', async () => {
    await h.sim.stop();
    const res = await h.post('/v1/chat/completions', chatBody('anyone there?'));
    const body = await expectError(res, 502, 'upstream_unreachable');
    assert.match(body.error.message, /ECONNREFUSED/);
    const client = new OpenAI({ baseURL: h.gateway.baseUrl, apiKey: 'k', maxRetries: 0 });
    await assert.rejects(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }), (error: unknown) => {
      return error instanceof OpenAI.APIError && error.status === 502;
    });
    const stream = await h.post('/v1/chat/completions', chatBody('anyone there?', { stream: true }));
    await expectError(stream, 502, 'upstream_unreachable');
    // afterEach checks that the stored entry is still served while the upstream is gone.
  });

  it('upstream timeout: 504 upstream_timeout', async () => {
    const res = await h.post('/v1/chat/completions', chatBody('slow one'), { 'x-sim-fault': 'hang' });
    const body = await expectError(res, 504, 'upstream_timeout');
    assert.match(body.error.message, /sent nothing for 400 ms/);
  });

  it('a stream that goes silent ends with an error event, and nothing is stored', async () => {
    const res = await h.post('/v1/chat/completions', chatBody('silence', { stream: true }), { 'x-sim-fault': 'hang-mid-stream' });
    assert.equal(res.status, 200);
    const { events, done } = await readSse(res);
    assert.ok(!done);
    const last = JSON.parse(events.at(-1)!) as ErrorBody;
    assert.equal(last.error.code, 'upstream_stream_interrupted');
    assert.match(last.error.message, /sent nothing/);
    assert.equal((await h.post('/v1/chat/completions', chatBody('silence'))).headers.get('x-deja-cache'), 'MISS');
  });

  it('the upstream dying mid-stream: the client stream ends with an error event, the SDK throws, nothing is stored', async () => {
    const res = await h.post('/v1/chat/completions', chatBody('cut short', { stream: true }), { 'x-sim-fault': 'drop-mid-stream' });
    const { events, done } = await readSse(res);
    assert.ok(!done);
    assert.ok(events.length >= 3, 'the tokens before the cut were passed on');
    assert.equal((JSON.parse(events.at(-1)!) as ErrorBody).error.code, 'upstream_stream_interrupted');

    h.sim.config.fault = 'drop-mid-stream';
    const stream = await h.client.chat.completions.create({
      model: MODEL,
      stream: true,
      messages: [{ role: 'user', content: 'cut short' }],
    });
    await assert.rejects(async () => {
      for await (const _chunk of stream) {
        // drain
      }
    }, /stream broke off/);
    h.sim.config.fault = undefined;
    assert.equal((await h.post('/v1/chat/completions', chatBody('cut short'))).headers.get('x-deja-cache'), 'MISS');
  });

  it('a stream without [DONE], with an error event, or with malformed events is passed on but never stored', async () => {
    for (const fault of ['no-done', 'error-event', 'malformed-sse'] as const) {
      const body = chatBody(`fault ${fault}`, { stream: true });
      const res = await h.post('/v1/chat/completions', body, { 'x-sim-fault': fault });
      assert.equal(res.status, 200);
      await res.text();
      await sleep(20);
      const again = await h.post('/v1/chat/completions', { ...body, stream: false });
      assert.equal(again.headers.get('x-deja-cache'), 'MISS', `${fault} was not stored`);
      await again.text();
    }
  });

  it('a non-JSON answer with status 200 becomes 502 upstream_bad_response, and is not stored', async () => {
    const res = await h.post('/v1/chat/completions', chatBody('html?'), { 'x-sim-fault': 'wrong-content-type' });
    const body = await expectError(res, 502, 'upstream_bad_response');
    assert.match(body.error.message, /text\/html.*not a JSON object: <html>/);
    assert.equal((await h.post('/v1/chat/completions', chatBody('html?'))).headers.get('x-deja-cache'), 'MISS');
  });

  it('a connection reset before any answer: 502', async () => {
    const res = await h.post('/v1/chat/completions', chatBody('reset'), { 'x-sim-fault': 'reset' });
    await expectError(res, 502, 'upstream_unreachable');
  });
});
