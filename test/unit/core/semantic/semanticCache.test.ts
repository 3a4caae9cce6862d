import assert from 'node:assert/strict';
import { identifyRequest, tenantTag } from '../../../../src/core/cacheKey';
import { LlmCache } from '../../../../src/core/llmCache';
import { silentLogger } from '../../../../src/core/logger';
import { SemanticCache } from '../../../../src/core/semantic/semanticCache';
import { MemoryExactStore } from '../../../../src/core/stores/memoryExactStore';
import { MemoryVectorStore } from '../../../../src/core/stores/memoryVectorStore';
import type { JsonObject } from '../../../../src/core/types';
import { FakeEmbedder } from '../../../fixtures/fakeEmbedder';

const tenant = tenantTag('http://u/v1', undefined);
const body = (question: string, system = 'be brief'): JsonObject => ({
  model: 'm',
  messages: [
    { role: 'system', content: system },
    { role: 'user', content: question },
  ],
});
const answer = (text: string): JsonObject => ({
  id: 'x',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
});

const contentOf = (response: JsonObject) => (response.choices as Array<{ message: { content: string } }>)[0]!.message.content;

function setup(options: { embedder?: FakeEmbedder; vectors?: MemoryVectorStore; exact?: MemoryExactStore; space?: string } = {}) {
  const embedder = options.embedder ?? new FakeEmbedder();
  const vectors = options.vectors ?? new MemoryVectorStore();
  const exact = options.exact ?? new MemoryExactStore();
  const semantic = new SemanticCache({
    embedder,
    openStore: async () => vectors,
    exact,
    logger: silentLogger,
    model: 'fake',
    space: options.space ?? 'fake#fp32',
    threshold: 0.9,
  });
  const cache = new LlmCache({ exact, semantic, logger: silentLogger });
  return { embedder, vectors, exact, semantic, cache };
}

async function ask(cache: LlmCache, question: string, system?: string) {
  const identity = identifyRequest('chat.completions', tenant, body(question, system));
  return { identity, result: await cache.lookup({ endpoint: 'chat.completions', identity, tenant }) };
}

async function storeAnswer(cache: LlmCache, question: string, text: string, system?: string) {
  const { identity, result } = await ask(cache, question, system);
  assert.equal(result.kind, 'miss');
  const semantic = result.kind === 'miss' ? result.semantic : undefined;
  return cache.store({
    endpoint: 'chat.completions',
    identity,
    tenant,
    model: 'm',
    response: answer(text),
    source: 'json',
    ttlSeconds: 60,
    semantic,
  });
}

describe('SemanticCache', () => {
  it('skips semantic lookups until the model is ready, without failing', async () => {
    const { semantic, cache } = setup({ embedder: new FakeEmbedder({ loadDelayMs: 50 }) });
    const { result } = await ask(cache, 'capital of France');
    assert.equal(result.kind, 'miss');
    assert.equal(semantic.status().state, 'loading');
    await semantic.start();
    assert.equal(semantic.status().state, 'ready');
  });

  it('answers a paraphrase in the same context, and nothing across contexts', async () => {
    const { semantic, cache } = setup();
    await semantic.start();
    await storeAnswer(cache, 'What is the capital of France?', 'Paris');
    const paraphrase = await ask(cache, "what's the capital of france");
    assert.equal(paraphrase.result.kind, 'semantic');
    if (paraphrase.result.kind === 'semantic') {
      assert.ok(paraphrase.result.similarity > 0.99);
      assert.equal(contentOf(paraphrase.result.entry.response), 'Paris');
    }
    const otherSystem = await ask(cache, "what's the capital of france", 'be verbose');
    assert.equal(otherSystem.result.kind, 'miss');
    const unrelated = await ask(cache, 'How do volcanoes form?');
    assert.equal(unrelated.result.kind, 'miss');
    if (unrelated.result.kind === 'miss') assert.ok((unrelated.result.nearestSimilarity ?? 1) < 0.5, 'the nearest neighbour is reported');
  });

  it('respects a per-request threshold', async () => {
    const { semantic, cache } = setup();
    await semantic.start();
    await storeAnswer(cache, 'capital of France and Spain', 'Paris, Madrid');
    const identity = identifyRequest('chat.completions', tenant, body('capital of France'));
    const loose = await cache.lookup({ endpoint: 'chat.completions', identity, tenant, threshold: 0.5 });
    const strict = await cache.lookup({ endpoint: 'chat.completions', identity, tenant, threshold: 0.99 });
    assert.equal(loose.kind, 'semantic');
    assert.equal(strict.kind, 'miss');
  });

  it('removes vectors on eviction, expiry and clear', async () => {
    const { semantic, cache, vectors, exact } = setup();
    await semantic.start();
    const entry = (await storeAnswer(cache, 'capital of France', 'Paris'))!;
    await semantic.flush();
    assert.deepEqual(vectors.ids(), [entry.id]);
    await cache.evict(entry.id);
    await semantic.flush();
    assert.deepEqual(vectors.ids(), []);
    assert.equal((await ask(cache, 'capital of France')).result.kind, 'miss');

    const second = (await storeAnswer(cache, 'largest planet', 'Jupiter'))!;
    await exact.set({ ...second, expiresAt: Date.now() - 1 });
    assert.equal(await cache.sweepExpired(), 1);
    await semantic.flush();
    assert.equal(semantic.status().entries, 0);

    await storeAnswer(cache, 'boiling point of water', '100 C');
    await cache.clear();
    assert.equal(semantic.status().entries, 0);
    assert.deepEqual(vectors.ids(), []);
  });

  it('never answers from a vector whose entry is gone, and drops that vector', async () => {
    const { semantic, cache, exact } = setup();
    await semantic.start();
    const entry = (await storeAnswer(cache, 'capital of France', 'Paris'))!;
    await exact.delete(entry.id); // the entry vanished behind the index's back
    assert.equal((await ask(cache, 'capital of France?')).result.kind, 'miss');
    assert.equal(semantic.status().entries, 0);
  });

  it('persists vectors and reloads them at start-up, repairing orphans on either side', async () => {
    const vectors = new MemoryVectorStore();
    const exact = new MemoryExactStore();
    const first = setup({ vectors, exact });
    await first.semantic.start();
    const kept = (await storeAnswer(first.cache, 'capital of France', 'Paris'))!;
    const orphaned = (await storeAnswer(first.cache, 'largest planet', 'Jupiter'))!;
    await first.semantic.flush();
    // A crash between the two stores: one entry lost its vector, one vector lost its entry.
    await exact.delete(orphaned.id);
    const unindexed = (await storeAnswer(first.cache, 'speed of light', 'c'))!;
    await first.semantic.flush();
    await vectors.write([], [unindexed.id]);

    const second = setup({ vectors, exact, embedder: new FakeEmbedder() });
    await second.semantic.start();
    assert.ok(!vectors.ids().includes(orphaned.id), 'the orphan vector was removed');
    for (let i = 0; i < 50 && second.semantic.status().entries !== 2; i++) await new Promise((r) => setTimeout(r, 10));
    await second.semantic.flush();
    assert.deepEqual(vectors.ids().sort(), [kept.id, unindexed.id].sort(), 'the missing vector was re-embedded');
    assert.equal((await ask(second.cache, 'speed of light?')).result.kind, 'semantic');
    assert.equal((await ask(second.cache, 'capital of France?')).result.kind, 'semantic');
  });

  it('indexes entries stored while the model was loading, once it is ready', async () => {
    const { semantic, cache } = setup({ embedder: new FakeEmbedder({ loadDelayMs: 30 }) });
    await storeAnswer(cache, 'capital of France', 'Paris');
    await semantic.start();
    for (let i = 0; i < 50 && semantic.status().entries !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await ask(cache, 'capital of France?')).result.kind, 'semantic');
  });

  it('drops vectors made by another model', async () => {
    const vectors = new MemoryVectorStore();
    const exact = new MemoryExactStore();
    const first = setup({ vectors, exact, space: 'model-a' });
    await first.semantic.start();
    await storeAnswer(first.cache, 'capital of France', 'Paris');
    await first.semantic.flush();
    const second = setup({ vectors, exact, space: 'model-b' });
    await second.semantic.start();
    assert.equal((await vectors.space())?.model, 'model-b');
    for (let i = 0; i < 50 && second.semantic.status().entries !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(second.semantic.status().entries, 1, 're-embedded with the new model');
  });

  it('reports a model that cannot load, and keeps the exact level working', async () => {
    const { semantic, cache } = setup({ embedder: new FakeEmbedder({ failLoad: 'no such model' }) });
    await semantic.start();
    assert.deepEqual([semantic.status().state, semantic.status().reason], ['failed', 'no such model']);
    const stored = await storeAnswer(cache, 'capital of France', 'Paris');
    assert.ok(stored);
    assert.equal((await ask(cache, 'capital of France')).result.kind, 'exact');
  });

  it('shuts down while the model is still loading (a stalled download must not hold it up)', async () => {
    let cancel!: (error: Error) => void;
    const stalled = Object.assign(new FakeEmbedder(), {
      load: () => new Promise<never>((_resolve, reject) => (cancel = reject)),
      close: async () => cancel(new Error('terminated')),
    });
    const { semantic } = setup({ embedder: stalled });
    void semantic.start();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(semantic.status().state, 'loading');
    await semantic.close();
    assert.equal(semantic.status().state, 'failed');
  });

  it('gives no vector to a text too long for the model', async () => {
    const { semantic, cache } = setup({ embedder: new FakeEmbedder({ maxWords: 3 }) });
    await semantic.start();
    const { result } = await ask(cache, 'one two three four five six');
    assert.equal(result.kind === 'miss' && result.semantic?.vector, undefined);
  });

  it('survives concurrent inserts and lookups', async () => {
    const { semantic, cache } = setup();
    await semantic.start();
    const topics = Array.from({ length: 60 }, (_, i) => `topic${i} question`);
    await Promise.all(topics.map((topic, i) => storeAnswer(cache, topic, `answer ${i}`)));
    const results = await Promise.all(topics.map((topic) => ask(cache, `${topic}?`)));
    for (const [i, { result }] of results.entries()) {
      assert.equal(result.kind, 'semantic');
      if (result.kind === 'semantic') assert.equal(contentOf(result.entry.response), `answer ${i}`);
    }
  });
});
