import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import type { EntryPageDto, SkippedPageDto, StatsDto } from '../../src/shared/protocol';
import { FakeEmbedder } from '../fixtures/fakeEmbedder';
import { chatBody, sleep, startHarness, waitFor, type Harness } from './harness';

/** A request with full control over Host and Origin, which fetch does not allow. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    http
      .get({ hostname: target.hostname, port: target.port, path: target.pathname + target.search, headers }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('the admin API, the policy and the metrics through the gateway', function () {
  let h: Harness;
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${h.gateway.url}/deja/v1${path}`, {
      ...init,
      headers: { authorization: `Bearer ${h.gateway.context.adminToken}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
    });
  const adminJson = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const res = await admin(path, init);
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as T;
  };
  const ask = (content: string, extra: Record<string, unknown> = {}) => h.post('/v1/chat/completions', chatBody(content, extra));

  beforeEach(async () => {
    h = await startHarness({
      embedder: new FakeEmbedder(),
      gateway: { semantic: true, semanticMode: 'static', semanticThreshold: 0.95, vllmMetricsIntervalMs: 100, revalidateShare: 0 },
    });
    await ask('warm up');
    await h.gateway.context.cache.semantic!.start();
  });
  afterEach(async () => {
    await h.close();
  });

  it('refuses requests without the token, from a non-loopback Host (DNS rebinding) or from a web page', async () => {
    assert.equal((await fetch(`${h.gateway.url}/deja/v1/stats`)).status, 401);
    const token = h.gateway.context.adminToken;
    assert.equal((await stat(join(h.dataDir, 'admin-token'))).mode & 0o777, 0o600);
    const rebound = await rawGet(`${h.gateway.url}/deja/v1/entries`, {
      host: `attacker.example:${h.gateway.port}`,
      authorization: `Bearer ${token}`,
    });
    assert.equal(rebound.status, 403);
    assert.equal(JSON.parse(rebound.body).error.code, 'host_not_allowed');
    const page = await rawGet(`${h.gateway.url}/deja/v1/entries`, {
      host: `127.0.0.1:${h.gateway.port}`,
      origin: 'https://attacker.example',
      authorization: `Bearer ${token}`,
    });
    assert.equal(page.status, 403);
    assert.equal(JSON.parse(page.body).error.code, 'origin_not_allowed');
    const ok = await rawGet(`${h.gateway.url}/deja/v1/entries`, { host: `localhost:${h.gateway.port}`, 'x-deja-admin-token': token });
    assert.equal(ok.status, 200);
  });

  it('skips what the policy refuses: forwarded, answered, never stored, listed with its span', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await ask('Write a function that parses a CSV line');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-deja-cache'), 'SKIP');
      assert.equal(res.headers.get('x-deja-reason'), 'code_generation');
      await res.text();
    }
    const rate = await ask('What is the EUR/USD rate right now?');
    assert.equal(rate.headers.get('x-deja-reason'), 'financial');
    await rate.text();
    const hot = await ask('Tell me a story', { temperature: 1.2 });
    assert.equal(hot.headers.get('x-deja-reason'), 'high_temperature');
    await hot.text();
    assert.equal(h.sim.calls('/v1/chat/completions'), 5);
    await sleep(50);
    const skipped = await adminJson<SkippedPageDto>('/skipped');
    assert.equal(skipped.total, 4);
    const code = skipped.items.find((item) => item.reason === 'code_generation')!;
    assert.equal(code.prompt, 'Write a function that parses a CSV line');
    assert.equal(code.prompt!.slice(code.span!.start, code.span!.end), code.span!.text);
    assert.equal(code.rule, 'code_generation/write-code');
    const financial = await adminJson<SkippedPageDto>('/skipped?reason=financial');
    assert.deepEqual([financial.total, financial.items[0]!.span?.text], [1, 'EUR/USD']);
    const temperature = skipped.items.find((item) => item.reason === 'high_temperature')!;
    assert.deepEqual([temperature.span?.field, temperature.prompt], ['temperature', '1.2']);
  });

  it('computes the stats of a scripted sequence', async () => {
    const since = Date.now();
    await (await ask('first question')).text();
    await (await ask('second question')).text();
    await (await ask('first question')).text();
    await (await ask('first question')).text();
    // A stored question is indexed just after its answer is sent: on a busy machine the paraphrase could arrive first.
    const semantic = h.gateway.context.cache.semantic!;
    const indexed = () => {
      const { backlog, entries } = semantic.status();
      return [backlog, entries];
    };
    await waitFor(async () => indexed().join() === '0,3');
    assert.deepEqual(indexed(), [0, 3], 'warm up and both questions indexed');
    await (await ask("what's the second question?")).text(); // a paraphrase: semantic hit
    await (await ask('Write a function that adds numbers')).text();
    await sleep(50);
    const stats = await adminJson<StatsDto>(`/stats?from=${since}&to=${Date.now() + 1}`);
    assert.equal(stats.requests, 6);
    assert.deepEqual([stats.exactHits, stats.semanticHits, stats.misses, stats.skipped], [2, 1, 2, 1]);
    assert.equal(stats.hitRate, 0.5);
    assert.equal(stats.semanticHitRate, 1 / 6);
    assert.deepEqual(stats.skippedByReason, { code_generation: 1 });
    assert.equal(stats.latency.hits.count, 3);
    assert.equal(stats.latency.misses.count, 2);
    assert.ok(stats.latency.hits.p50! < stats.latency.misses.p50!, 'hits are faster than misses');
    assert.ok(stats.savings.completionTokensSaved > 0);
    assert.equal(stats.savings.requestsNotSent, 0.5);
    assert.equal(stats.cache.entries, 3, 'warm up + two questions');
    assert.equal(stats.semantic.state, 'ready');
    const windowed = await adminJson<StatsDto>('/stats?window=15m');
    assert.equal(windowed.requests, 7, 'the warm-up is in the last 15 minutes too');
    assert.equal((await admin('/stats?window=2y')).status, 400);
  });

  it('lists, searches, sorts and shows entries, and evicts one, a search, or all, vectors included', async () => {
    for (const question of ['capital of France', 'capital of Spain', 'boiling point of water']) await (await ask(question)).text();
    await (await ask('capital of Spain')).text(); // one hit
    await sleep(150);
    const all = await adminJson<EntryPageDto>('/entries?sort=created&order=asc&limit=10');
    assert.deepEqual(
      all.items.map((item) => item.prompt),
      ['warm up', 'capital of France', 'capital of Spain', 'boiling point of water'],
    );
    const capitals = await adminJson<EntryPageDto>('/entries?search=CAPITAL');
    assert.equal(capitals.total, 2);
    const byHits = await adminJson<EntryPageDto>('/entries?sort=hits');
    assert.deepEqual([byHits.items[0]!.prompt, byHits.items[0]!.hits], ['capital of Spain', 1]);
    const detail = await adminJson<{ request: { messages: unknown[] }; response: { choices: unknown[] } }>(
      `/entries/${byHits.items[0]!.id}`,
    );
    assert.ok(detail.request.messages.length === 1 && detail.response.choices.length === 1);
    // A missing entry is a 404, like a missing route (it was a 400).
    const missing = await admin('/entries/nope');
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), {
      error: { message: 'No entry nope', type: 'invalid_request_error', param: 'id', code: 'entry_not_found' },
    });

    // One: the exact entry and its vector go; the paraphrase misses afterwards.
    const france = all.items[1]!;
    assert.deepEqual(await adminJson(`/entries/${france.id}`, { method: 'DELETE' }), { evicted: 1 });
    const afterOne = await ask('capital of France?');
    assert.equal(afterOne.headers.get('x-deja-cache'), 'MISS');
    await afterOne.text();
    // A search: everything it matches.
    await sleep(150);
    assert.deepEqual(await adminJson('/entries/evict', { method: 'POST', body: JSON.stringify({ filter: { search: 'capital' } }) }), {
      evicted: 2,
    });
    assert.equal((await admin('/entries/evict', { method: 'POST', body: JSON.stringify({ filter: {} }) })).status, 400);
    assert.equal((await ask('capital of Spain')).headers.get('x-deja-cache'), 'MISS');
    // All.
    await sleep(150);
    const cleared = await adminJson<{ evicted: number }>('/entries', { method: 'DELETE' });
    assert.ok(cleared.evicted >= 2);
    assert.equal((await adminJson<EntryPageDto>('/entries')).total, 0);
    assert.equal(h.gateway.context.cache.semantic!.status().entries, 0, 'no vector outlives its entry');
    assert.equal((await ask('boiling point of water')).headers.get('x-deja-cache'), 'MISS');
  });

  it('streams live events, and switches caching off and on', async () => {
    const controller = new AbortController();
    const stream = await admin('/events', { signal: controller.signal });
    const reader = stream.body!.getReader();
    let received = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        received += Buffer.from(value).toString();
        // The store is written after the answer has gone out, so its event may come after the switch's.
        if (received.includes('"caching/changed"') && received.includes('event: entries/changed')) return;
      }
    })();
    await (await ask('live question')).text();
    assert.deepEqual(await adminJson('/caching', { method: 'POST', body: JSON.stringify({ enabled: false }) }), { enabled: false });
    await reading;
    controller.abort();
    assert.match(received, /event: request\ndata: \{"type":"request","event":\{[^\n]*"outcome":"MISS"/);
    assert.match(received, /event: entries\/changed/);
    const bypassed = await ask('live question');
    assert.equal(bypassed.headers.get('x-deja-cache'), 'BYPASS');
    await bypassed.text();
    await adminJson('/caching', { method: 'POST', body: JSON.stringify({ enabled: true }) });
    assert.equal((await ask('live question')).headers.get('x-deja-cache'), 'HIT');
    assert.equal((await admin('/caching', { method: 'POST', body: '{"enabled":"yes"}' })).status, 400);
  });

  it("exposes Prometheus metrics, and reads the upstream's prefix-cache figures", async () => {
    await (await ask('metric me')).text();
    await (await ask('metric me')).text();
    const text = await (await fetch(`${h.gateway.url}/metrics`)).text();
    assert.match(text, /deja_requests_total\{endpoint="chat.completions",outcome="HIT",reason="",model="sim-llama-3-8b"\} \d+/);
    assert.match(text, /deja_request_duration_seconds_bucket\{le="0.005",outcome="HIT"\}/);
    assert.match(text, /deja_tokens_saved_total\{kind="completion"\} \d+/);
    assert.match(text, /deja_cache_entries \d+/);
    await waitFor(async () => (await adminJson<StatsDto>('/stats')).vllm.kvCacheUsage.available);
    const stats = await adminJson<StatsDto>('/stats');
    assert.equal(stats.vllm.naming, 'current');
    assert.ok(stats.vllm.kvCacheUsage.available);
    assert.ok(stats.vllm.history.length >= 1);
  });
});

describe('upstream metrics that are old, missing or broken', function () {
  for (const [flavour, expectation] of [
    ['legacy', /^legacy$/],
    ['absent', /answered GET \/metrics with 404/],
    ['malformed', /no Prometheus samples/],
  ] as const) {
    it(`${flavour}: reported${flavour === 'legacy' ? ' under the old names' : ' as unavailable, with the reason'}`, async () => {
      const h = await startHarness({ sim: { metrics: flavour }, gateway: { vllmMetricsIntervalMs: 100 } });
      try {
        await sleep(350);
        const figures = h.gateway.context.vllm.figures();
        if (flavour === 'legacy') {
          assert.match(figures.naming, expectation);
          assert.ok(figures.kvCacheUsage.available);
        } else {
          assert.equal(figures.kvCacheUsage.available, false);
          assert.match(figures.kvCacheUsage.available ? '' : figures.kvCacheUsage.reason, expectation);
        }
      } finally {
        await h.close();
      }
    });
  }
});

describe('staleness', function () {
  it('rechecks hits against the upstream, counts the stale ones and replaces them', async () => {
    const h = await startHarness({ gateway: { revalidateShare: 1 } });
    try {
      const first = (await (await h.post('/v1/chat/completions', chatBody('a fact that changes'))).json()) as {
        choices: Array<{ message: { content: string } }>;
      };
      // The hit is rechecked: the upstream still agrees.
      await (await h.post('/v1/chat/completions', chatBody('a fact that changes'))).text();
      await sleep(100);
      h.sim.config.answerSalt = 'the world changed';
      const stale = await h.post('/v1/chat/completions', chatBody('a fact that changes'));
      assert.equal(stale.headers.get('x-deja-cache'), 'HIT');
      assert.equal(
        ((await stale.json()) as typeof first).choices[0]!.message.content,
        first.choices[0]!.message.content,
        'the hit itself is the stored answer',
      );
      await sleep(150);
      const replaced = (await (await h.post('/v1/chat/completions', chatBody('a fact that changes'))).json()) as typeof first;
      assert.notEqual(
        replaced.choices[0]!.message.content,
        first.choices[0]!.message.content,
        'the stale entry was replaced with the fresh answer',
      );
      await sleep(100);
      const token = h.gateway.context.adminToken;
      const stats = (await (
        await fetch(`${h.gateway.url}/deja/v1/stats`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as StatsDto;
      assert.ok(stats.staleness.revalidated >= 2);
      assert.equal(stats.staleness.stale, 1);
      assert.equal(stats.staleness.rate, 1 / stats.staleness.revalidated);
    } finally {
      await h.close();
    }
  });
});
