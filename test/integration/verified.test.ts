import assert from 'node:assert/strict';
import type { EntryDetailDto, StatsDto } from '../../src/shared/protocol';
import type { GatewayOptions } from '../../src/core/options';
import type { SimConfig } from '../fixtures/simVllm';
import { FakeEmbedder } from '../fixtures/fakeEmbedder';
import { MODEL, sleep, startHarness, type Harness } from './harness';

const AS_ALICE = { authorization: 'Bearer sk-test-alice' };
const ask = (content: string) => ({
  model: MODEL,
  messages: [
    { role: 'system', content: 'You answer briefly.' },
    { role: 'user', content },
  ],
});

/** Waits until every answer in flight is stored (an exchange is joinable until its entry is written). */
async function settled(h: Harness): Promise<void> {
  for (let i = 0; i < 400 && h.gateway.context.flights.size > 0; i++) await sleep(5);
  await sleep(30);
}

describe('verified semantic hits through the gateway', function () {
  let h: Harness;
  const post = (content: string, headers: Record<string, string> = {}) =>
    h.post('/v1/chat/completions', ask(content), { ...AS_ALICE, ...headers });
  const admin = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const response = await fetch(`${h.gateway.url}/deja/v1${path}`, {
      ...init,
      headers: { authorization: `Bearer ${h.gateway.context.adminToken}`, 'content-type': 'application/json' },
    });
    return (await response.json()) as T;
  };
  const start = async (gateway: Partial<GatewayOptions> = {}, sim: Partial<SimConfig> = {}, dataDir?: string) => {
    h = await startHarness({
      embedder: new FakeEmbedder(),
      sim,
      gateway: { semantic: true, semanticMode: 'verified', answerJudge: 'exact', ...(dataDir ? { dataDir } : {}), ...gateway },
    });
    await post('warm up');
    await h.gateway.context.cache.semantic!.start();
  };
  /** Teaches the gateway's group what a well-behaved embedder shows: right answers at a high similarity, wrong ones below. */
  const teach = () => {
    const semantic = h.gateway.context.cache.semantic!;
    for (let i = 0; i < 400; i++) {
      const similarity = 0.7 + (0.3 * i) / 400;
      semantic.observe(`${(i % 40).toString(16).padStart(32, '0')}`, 'chat.completions', { similarity, correct: similarity > 0.85, at: i });
    }
  };
  const stored = async (content: string): Promise<string> => {
    const response = await post(content);
    await response.text();
    await settled(h);
    return (
      response.headers.get('x-deja-entry') ??
      (await admin<{ items: Array<{ id: string; prompt: string }> }>('/entries')).items.find((item) => item.prompt === content)!.id
    );
  };

  afterEach(async () => {
    await h?.close();
  });

  it('explores a similar question while nothing is learned, and records on the entry what the upstream said', async () => {
    await start();
    const entry = await stored('capital France');
    const response = await post('capital France city');
    assert.equal(response.headers.get('x-deja-cache'), 'MISS');
    assert.equal(response.headers.get('x-deja-decision'), 'explore');
    await response.text();
    await settled(h);
    const detail = await admin<EntryDetailDto>(`/entries/${entry}`);
    assert.equal(detail.learned?.mode, 'verified');
    assert.equal(detail.learned?.observations.length, 1);
    const [observation] = detail.learned!.observations;
    assert.ok(Math.abs(observation!.similarity - 0.8165) < 0.01, String(observation!.similarity));
    // The simulated model answers each question differently: the stored answer was not the upstream's.
    assert.equal(observation!.correct, false);
    const stats = await admin<StatsDto>('/stats?window=1h');
    assert.equal(stats.semanticChecks.explorations, 1);
    assert.deepEqual(stats.semantic.learned, [{ endpoint: 'chat.completions', observations: 1, wrong: 1, servedFrom: null, fewest: 149 }]);
    assert.match(await (await fetch(`${h.gateway.url}/metrics`)).text(), /deja_semantic_explorations_total 1/);
  });

  it('serves a semantic hit once what was learned bounds the chance of a wrong answer, and says it exploited', async () => {
    await start();
    teach();
    await stored('What is the capital of France?');
    const calls = h.sim.calls('/v1/chat/completions');
    const response = await post('capital of France');
    assert.equal(response.headers.get('x-deja-cache'), 'SEMANTIC_HIT');
    assert.equal(response.headers.get('x-deja-decision'), 'exploit');
    assert.equal(h.sim.calls('/v1/chat/completions'), calls);
    // A question at a similarity the group is often wrong at is explored instead.
    await stored('capital Spain');
    const unsure = await post('capital Spain city');
    assert.equal(unsure.headers.get('x-deja-decision'), 'explore');
    // The stats say from which similarity, learned from what.
    const [learned] = (await admin<StatsDto>('/stats?window=1h')).semantic.learned;
    assert.equal(learned?.endpoint, 'chat.completions');
    assert.ok(learned!.observations >= 400 && learned!.wrong >= 200 && learned!.fewest === 149, JSON.stringify(learned));
    // The lowest tested tail of the 200 right answers above 0.85 (tails are tested at sizes 5% apart).
    assert.ok(learned!.servedFrom! > 0.85 && learned!.servedFrom! < 0.86, JSON.stringify(learned));
  });

  it('measures served semantic hits against the upstream: the false-hit rate with its interval, counted in /metrics', async () => {
    await start({ revalidateShare: 1 });
    teach();
    await stored('What is the capital of France?');
    const hit = await post('capital of France');
    assert.equal(hit.headers.get('x-deja-cache'), 'SEMANTIC_HIT');
    await hit.text();
    for (let i = 0; i < 100 && (await admin<StatsDto>('/stats?window=1h')).semanticChecks.judged === 0; i++) await sleep(20);
    const stats = await admin<StatsDto>('/stats?window=1h');
    assert.deepEqual([stats.semanticChecks.judged, stats.semanticChecks.falseHits, stats.semanticChecks.falseHitRate], [1, 1, 1]);
    assert.ok(stats.semanticChecks.falseHitInterval!.low > 0.2 && stats.semanticChecks.falseHitInterval!.high === 1);
    assert.equal(stats.staleness.revalidated, 0, 'a semantic recheck is not a staleness check');
    const metrics = await (await fetch(`${h.gateway.url}/metrics`)).text();
    assert.match(metrics, /deja_semantic_judged_total 1/);
    assert.match(metrics, /deja_semantic_false_hits_total 1/);
    assert.deepEqual([stats.semantic.mode, stats.semantic.maxFalseHitRate, stats.semantic.judge], ['verified', 0.02, 'exact']);
  });

  it('keeps what it learned across a restart, and lets it go with the entry', async () => {
    await start();
    const dataDir = h.dataDir;
    const entry = await stored('capital France');
    await (await post('capital France city')).text();
    await settled(h);
    await h.gateway.close();
    await start({}, {}, dataDir);
    const detail = await admin<EntryDetailDto>(`/entries/${entry}`);
    assert.equal(detail.learned?.observations.length, 1);
    await fetch(`${h.gateway.url}/deja/v1/entries/${entry}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${h.gateway.context.adminToken}` },
    });
    assert.deepEqual(h.gateway.context.cache.semantic!.learned(entry, 'chat.completions').observations, []);
  });

  it('asks the upstream model with the llm judge, counts what it costs, and records nothing when it gives no verdict', async () => {
    await start({ answerJudge: 'llm' }, { judge: 'yes' });
    const entry = await stored('capital France');
    await (await post('capital France city')).text();
    await settled(h);
    let detail = await admin<EntryDetailDto>(`/entries/${entry}`);
    assert.deepEqual(
      detail.learned?.observations.map((o) => o.correct),
      [true],
    );
    const judgeRequests = h.sim.requests.filter((request) => JSON.stringify(request.body ?? null).includes('Reply with yes or no'));
    assert.equal(judgeRequests.length, 1);
    const judgeRequest = judgeRequests[0]!;
    assert.deepEqual([judgeRequest.body?.temperature, judgeRequest.body?.max_tokens], [0, 3]);
    h.sim.config.judge = 'error';
    await (await post('capital France town')).text();
    // The judge is asked after the answer is stored, once the client has it.
    await settled(h);
    h.sim.config.judge = 'babble';
    await (await post('capital France place')).text();
    await settled(h);
    detail = await admin<EntryDetailDto>(`/entries/${entry}`);
    assert.equal(detail.learned?.observations.length, 1, 'no verdict, no observation');
    const stats = await admin<StatsDto>('/stats?window=1h');
    assert.deepEqual(
      [stats.semantic.judgeCost?.calls, stats.semantic.judgeCost?.failures, stats.semantic.judgeCost?.promptTokens],
      [3, 2, 240],
    );
  });

  it('records each exploration once: two different questions record two, identical ones sharing a call record one', async () => {
    await start({}, { ttftMs: 150 });
    const entry = await stored('capital France');
    await Promise.all([post('capital France city'), post('capital France town')].map(async (response) => (await response).text()));
    await settled(h);
    assert.equal(h.gateway.context.cache.semantic!.learned(entry, 'chat.completions').observations.length, 2);
    const twins = await Promise.all([post('capital France place'), post('capital France place')]);
    await Promise.all(twins.map((response) => response.text()));
    assert.ok(twins.some((response) => response.headers.get('x-deja-coalesced') === '1'));
    await settled(h);
    assert.equal(h.gateway.context.cache.semantic!.learned(entry, 'chat.completions').observations.length, 3);
  });

  it('learns nothing about an entry evicted while its exploration was upstream', async () => {
    await start({}, { ttftMs: 300 });
    const entry = await stored('capital France');
    const exploring = post('capital France city');
    await sleep(100);
    await fetch(`${h.gateway.url}/deja/v1/entries/${entry}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${h.gateway.context.adminToken}` },
    });
    const response = await exploring;
    assert.equal(response.headers.get('x-deja-decision'), 'explore');
    assert.equal(response.status, 200);
    await response.text();
    await settled(h);
    assert.deepEqual(h.gateway.context.cache.semantic!.learned(entry, 'chat.completions').observations, []);
  });

  it('decides statically for a request that sends its own threshold, and in the static mode', async () => {
    await start();
    await stored('What is the capital of France?');
    const override = await post('capital of France', { 'x-deja-threshold': '0.9' });
    assert.equal(override.headers.get('x-deja-cache'), 'SEMANTIC_HIT');
    assert.equal(override.headers.get('x-deja-decision'), null);
    await h.close();
    await start({ semanticMode: 'static', semanticThreshold: 0.9 });
    await stored('What is the capital of Spain?');
    const hit = await post('capital of Spain');
    assert.equal(hit.headers.get('x-deja-cache'), 'SEMANTIC_HIT');
    assert.equal(hit.headers.get('x-deja-decision'), null);
  });
});
