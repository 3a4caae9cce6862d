import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import { FakeEmbedder } from '../fixtures/fakeEmbedder';
import { MODEL, readSse, sleep, startHarness, waitFor, type Harness } from './harness';

type Message = OpenAI.Chat.Completions.ChatCompletionMessageParam;
const ask = (content: string, extra: Record<string, unknown> = {}, history: Message[] = []) => ({
  model: MODEL,
  messages: [{ role: 'system', content: 'You answer briefly.' } as Message, ...history, { role: 'user', content } as Message],
  ...extra,
});

/**
 * Waits until the answers just served are stored: an exchange stays in flight until its entry
 * is written and indexed, which happens after the client has the response (a fixed pause
 * raced the database write on a busy machine).
 */
async function stored(h: Harness): Promise<void> {
  for (let i = 0; i < 400 && h.gateway.context.flights.size > 0; i++) await sleep(5);
  assert.equal(h.gateway.context.flights.size, 0, 'the answer was stored within 2 s');
}

/** The SDK sends its API key; raw requests must send the same one to share its partition. */
const AS_ALICE = { authorization: 'Bearer sk-test-alice' };

describe('semantic cache through the gateway', function () {
  let h: Harness;
  let embedder: FakeEmbedder;
  const post = (body: unknown, headers: Record<string, string> = {}) => h.post('/v1/chat/completions', body, { ...AS_ALICE, ...headers });
  beforeEach(async () => {
    embedder = new FakeEmbedder();
    h = await startHarness({ embedder, gateway: { semantic: true, semanticMode: 'static', semanticThreshold: 0.9 } });
    // Loads on the first cacheable request; wait for it here so tests start from "ready".
    await h.post('/v1/chat/completions', ask('warm up'));
    await h.gateway.context.cache.semantic!.start();
  });
  afterEach(async () => {
    await h.close();
  });

  it('answers a paraphrase from the cache, with the similarity and the entry that answered', async () => {
    const original = await h.client.chat.completions.create(ask('What is the capital of France?')).withResponse();
    assert.equal(original.response.headers.get('x-deja-cache'), 'MISS');
    await stored(h);
    const calls = h.sim.calls('/v1/chat/completions');
    const paraphrase = await h.client.chat.completions.create(ask("what's the capital of france")).withResponse();
    assert.equal(paraphrase.response.headers.get('x-deja-cache'), 'SEMANTIC_HIT');
    assert.ok(Number(paraphrase.response.headers.get('x-deja-similarity')) >= 0.9);
    const direct = await h.client.chat.completions.create(ask('What is the capital of France?')).withResponse();
    assert.equal(
      direct.response.headers.get('x-deja-entry'),
      paraphrase.response.headers.get('x-deja-entry'),
      'the entry that answered is the original one',
    );
    assert.deepEqual(paraphrase.data, original.data, 'the stored answer, unchanged');
    assert.equal(h.sim.calls('/v1/chat/completions'), calls, 'no inference');
  });

  it('replays a semantic hit as a stream', async () => {
    const original = await h.client.chat.completions.create(ask('Name the largest planet'));
    await stored(h);
    const res = await post(ask('please, name the largest planet', { stream: true }));
    assert.equal(res.headers.get('x-deja-cache'), 'SEMANTIC_HIT');
    const { events, done } = await readSse(res);
    assert.ok(done);
    const text = events.map((data) => JSON.parse(data).choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, original.choices[0]!.message.content);
  });

  it('reports the nearest neighbour on a miss, so the threshold can be tuned', async () => {
    await h.client.chat.completions.create(ask('capital of France and Spain'));
    await stored(h);
    const res = await post(ask('capital of France'));
    assert.equal(res.headers.get('x-deja-cache'), 'MISS');
    const similarity = Number(res.headers.get('x-deja-similarity'));
    assert.ok(similarity > 0.3 && similarity < 0.9, `nearest similarity ${similarity}`);
    const loose = await post(ask('capital of Spain'), { 'x-deja-threshold': '0.5' });
    assert.equal(loose.headers.get('x-deja-cache'), 'SEMANTIC_HIT');
    const bad = await post(ask('capital of Spain'), { 'x-deja-threshold': '2' });
    assert.equal(bad.status, 400);
  });

  it('never answers across contexts: system prompt, model, history, tools, temperature, credentials', async () => {
    await h.client.chat.completions.create(ask('Explain photosynthesis'));
    const otherKey = await h.post('/v1/chat/completions', ask('explain photosynthesis please'), { authorization: 'Bearer sk-test-bob' });
    assert.equal(otherKey.headers.get('x-deja-cache'), 'MISS', 'another API key never shares entries');
    await otherKey.text();
    await stored(h);
    const variants = [
      {
        model: MODEL,
        messages: [
          { role: 'system', content: 'You answer at length.' },
          { role: 'user', content: 'explain photosynthesis please' },
        ],
      },
      ask('explain photosynthesis please', { model: 'sim-reasoning-7b' }),
      ask('explain photosynthesis please', {}, [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
      ]),
      ask('explain photosynthesis please', { tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }] }),
      ask('explain photosynthesis please', { temperature: 0.2 }),
    ];
    for (const variant of variants) {
      const res = await post(variant);
      assert.equal(res.headers.get('x-deja-cache'), 'MISS', JSON.stringify(variant).slice(0, 120));
      await res.text();
    }
    const same = await post(ask('explain photosynthesis please'));
    assert.equal(same.headers.get('x-deja-cache'), 'SEMANTIC_HIT', 'the same context does hit');
  });

  it('says on /health how the semantic level is doing', async () => {
    type Health = { semantic: { state: string; model: string; threshold: number; entries: number } };
    const read = async () => (await (await fetch(`${h.gateway.url}/health`)).json()) as Health;
    // The warm-up's vector is indexed after its answer is stored, and after the model loads: on a busy machine, later.
    await stored(h);
    let health = await read();
    await waitFor(async () => (health = await read()).semantic.entries >= 1, 1000, 5);
    assert.equal(health.semantic.state, 'ready');
    assert.equal(health.semantic.threshold, 0.9);
    assert.ok(health.semantic.entries >= 1, `the warm-up question is indexed within 5 s (entries: ${health.semantic.entries})`);
  });

  it('evicting an entry removes its vector: the paraphrase misses afterwards', async () => {
    await h.client.chat.completions.create(ask('How tall is Mount Everest?'));
    await stored(h);
    const hit = await post(ask('how tall is mount everest'));
    assert.equal(hit.headers.get('x-deja-cache'), 'SEMANTIC_HIT');
    await h.gateway.context.cache.evict(hit.headers.get('x-deja-entry')!);
    const after = await post(ask('how tall is mount everest'));
    assert.equal(after.headers.get('x-deja-cache'), 'MISS');
  });
});

describe('semantic cache when the model cannot load', function () {
  it('answers every request, and says why on /health', async () => {
    const h = await startHarness({ embedder: new FakeEmbedder({ failLoad: 'the model file is corrupt' }), gateway: { semantic: true } });
    try {
      for (let i = 0; i < 2; i++) {
        const res = await h.post('/v1/chat/completions', ask('anything'));
        assert.equal(res.status, 200);
        await res.text();
      }
      await h.gateway.context.cache.semantic!.start();
      const health = (await (await fetch(`${h.gateway.url}/health`)).json()) as { semantic: { state: string; reason: string } };
      assert.deepEqual(health.semantic.state, 'failed');
      assert.match(health.semantic.reason, /corrupt/);
      assert.equal((await h.post('/v1/chat/completions', ask('anything'))).headers.get('x-deja-cache'), 'HIT');
    } finally {
      await h.close();
    }
  });
});
