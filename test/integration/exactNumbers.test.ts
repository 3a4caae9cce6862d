import assert from 'node:assert/strict';
import { FakeEmbedder } from '../fixtures/fakeEmbedder';
import { startPassThrough, type PassThrough } from '../fixtures/passThrough';
import { SimVllm } from '../fixtures/simVllm';
import { MODEL, readSse, sleep, startHarness, type Harness } from './harness';

/** Waits until every exchange in flight has stored its answer. */
async function stored(h: Harness): Promise<void> {
  for (let i = 0; i < 400 && h.gateway.context.flights.size > 0; i++) await sleep(5);
  assert.equal(h.gateway.context.flights.size, 0, 'the answer was stored within 2 s');
}

/** A chat body as raw text: the numbers in `fields` reach the gateway exactly as written here. */
const chat = (content: string, fields: string) =>
  `{"model":"${MODEL}","messages":[{"role":"user","content":${JSON.stringify(content)}}],${fields}}`;

/** A proxy in front of the simulated vLLM that keeps the bodies it forwards, byte for byte. */
async function recordingProxy(target: string): Promise<PassThrough & { bodies: string[] }> {
  const bodies: string[] = [];
  const proxy = await startPassThrough(target, (req, body) => {
    if (req.method === 'POST') bodies.push(body.toString('utf8'));
  });
  return { ...proxy, bodies };
}

describe('numbers past a double (issue 14): a seed past 2^53 gets its own entry', function () {
  this.timeout(30_000);
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  /** Sends each body twice: two misses first (two upstream calls), then each hits its own answer. */
  async function twoEntries(bodies: [string, string]): Promise<void> {
    const before = h.sim.calls('/v1/chat/completions');
    const misses: Array<{ id: string; entry: string | null }> = [];
    for (const body of bodies) {
      const res = await h.post('/v1/chat/completions', body);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-deja-cache'), 'MISS', body);
      misses.push({ id: ((await res.json()) as { id: string }).id, entry: null });
      await stored(h);
    }
    assert.equal(h.sim.calls('/v1/chat/completions') - before, 2, 'two upstream calls');
    assert.notEqual(misses[0]!.id, misses[1]!.id);
    for (const [i, body] of bodies.entries()) {
      const res = await h.post('/v1/chat/completions', body);
      assert.equal(res.headers.get('x-deja-cache'), 'HIT', body);
      assert.equal(((await res.json()) as { id: string }).id, misses[i]!.id, 'its own answer');
      misses[i]!.entry = res.headers.get('x-deja-entry');
    }
    assert.notEqual(misses[0]!.entry, misses[1]!.entry);
    assert.equal(h.sim.calls('/v1/chat/completions') - before, 2, 'no more upstream calls');
  }

  it('two requests that differ only in seed, max_tokens or a logit_bias value past a double: two misses, then each hits its own answer', async () => {
    h = await startHarness();
    await twoEntries([chat('seed', '"seed":9007199254740993'), chat('seed', '"seed":9007199254740992')]);
    await twoEntries([chat('max', '"max_tokens":18446744073709551617'), chat('max', '"max_tokens":18446744073709551616')]);
    await twoEntries([chat('bias', '"logit_bias":{"50256":0.1000000000000000000001}'), chat('bias', '"logit_bias":{"50256":0.1}')]);
    const schema = (maximum: string) =>
      `"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"integer","maximum":${maximum}}}}`;
    await twoEntries([chat('schema', schema('99999999999999999999')), chat('schema', schema('100000000000000000000'))]);
    // A number a double holds is read by value, as before: 7.0 finds the entry of 7.
    await (await h.post('/v1/chat/completions', chat('by value', '"seed":7'))).text();
    await stored(h);
    assert.equal((await h.post('/v1/chat/completions', chat('by value', '"seed":7.0'))).headers.get('x-deja-cache'), 'HIT');
  });

  it('keeps the semantic level apart too: the same question with another big seed is not a semantic hit', async () => {
    h = await startHarness({ embedder: new FakeEmbedder(), gateway: { semantic: true, semanticMode: 'static', semanticThreshold: 0.9 } });
    await (await h.post('/v1/chat/completions', chat('warm up', '"seed":1'))).text();
    await h.gateway.context.cache.semantic!.start();
    await stored(h);
    await (await h.post('/v1/chat/completions', chat('What is the capital of France?', '"seed":12345678901234567891'))).text();
    await stored(h);
    const other = await h.post('/v1/chat/completions', chat('What is the capital of France?', '"seed":12345678901234567892'));
    assert.equal(other.headers.get('x-deja-cache'), 'MISS');
    await other.text();
    await stored(h);
    // A paraphrase with the same seed is one.
    const paraphrase = await h.post('/v1/chat/completions', chat("what's the capital of france", '"seed":12345678901234567892'));
    assert.equal(paraphrase.headers.get('x-deja-cache'), 'SEMANTIC_HIT');
    await paraphrase.text();
  });

  it('forwards the digits upstream, the raw body or one written again for a stream, and replays each stream from its own entry', async () => {
    const sim = new SimVllm();
    const proxy = await recordingProxy(await sim.start());
    h = await startHarness({ upstream: proxy.url });
    try {
      const plain = chat('forward', '"seed":9007199254740993');
      await (await h.post('/v1/chat/completions', plain)).text();
      assert.equal(proxy.bodies.at(-1), plain, 'the client bytes, untouched');
      // Streaming without include_usage: the gateway writes the body again to ask for usage.
      const streamed = [chat('stream', '"stream":true,"seed":9007199254740993'), chat('stream', '"stream":true,"seed":9007199254740992')];
      const contents: string[] = [];
      for (const body of streamed) {
        const res = await h.post('/v1/chat/completions', body);
        assert.equal(res.headers.get('x-deja-cache'), 'MISS');
        const { events, done } = await readSse(res);
        assert.ok(done);
        contents.push(JSON.parse(events[0]!).id as string);
        await stored(h);
      }
      assert.match(proxy.bodies.at(-2)!, /"seed":9007199254740993[,}]/);
      assert.match(proxy.bodies.at(-1)!, /"seed":9007199254740992[,}]/);
      assert.match(proxy.bodies.at(-1)!, /"include_usage":true/);
      for (const [i, body] of streamed.entries()) {
        const res = await h.post('/v1/chat/completions', body);
        assert.equal(res.headers.get('x-deja-cache'), 'HIT');
        const { events } = await readSse(res);
        assert.equal(JSON.parse(events[0]!).id, contents[i], 'its own answer');
      }
    } finally {
      await proxy.close();
      await sim.stop();
    }
  });
});
