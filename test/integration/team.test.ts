import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ADMIN_BASE, ADMIN_TOKEN_FILE, type StatsDto } from '../../src/shared/protocol';
import { FakeEmbedder } from '../fixtures/fakeEmbedder';
import { RedisServer } from '../fixtures/redisServer';
import { chatBody, sleep, startHarness, type Harness } from './harness';

/** Two (or three) real gateways on one machine, sharing one real Redis. */
describe('team tier (Redis)', function () {
  this.timeout(60_000);
  const redis = new RedisServer();
  let a: Harness;
  let b: Harness;

  const gatewayWith = (extra: { team?: string; upstream?: string; embeddingModel?: string } = {}) =>
    startHarness({
      upstream: extra.upstream,
      embedder: new FakeEmbedder(),
      gateway: {
        semantic: true,
        semanticMode: 'static',
        sharedStore: redis.url,
        team: extra.team ?? 'it-team',
        revalidateShare: 0,
        ...(extra.embeddingModel ? { embeddingModel: extra.embeddingModel } : {}),
      },
    });

  const ask = async (gateway: Harness, content: string, apiKey = 'sk-test-alice') => {
    const response = await gateway.post('/v1/chat/completions', chatBody(content, { temperature: 0 }), {
      authorization: `Bearer ${apiKey}`,
    });
    const body = (await response.json()) as { choices?: Array<{ message: { content: string } }> };
    return {
      status: response.status,
      cache: response.headers.get('x-deja-cache'),
      tier: response.headers.get('x-deja-tier'),
      entry: response.headers.get('x-deja-entry'),
      answer: body.choices?.[0]?.message.content,
    };
  };

  const admin = async <T>(gateway: Harness, path: string, init: RequestInit = {}): Promise<T> => {
    const token = (await readFile(join(gateway.dataDir, ADMIN_TOKEN_FILE), 'utf8')).trim();
    const response = await fetch(`${gateway.gateway.url}${ADMIN_BASE}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
    });
    assert.equal(response.status, 200, `${path}: ${response.status}`);
    return (await response.json()) as T;
  };

  const health = async (gateway: Harness) =>
    (await (await fetch(`${gateway.gateway.url}/health`)).json()) as {
      shared: { state: string; applied: number; team: string } | null;
      semantic: { state: string; entries?: number; backlog?: number };
    };

  const until = async (what: string, probe: () => Promise<boolean>, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!(await probe())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  };

  /** The id of the one entry whose prompt contains `search`. */
  const entryId = async (gateway: Harness, search: string) => {
    const page = await admin<{ items: Array<{ id: string }> }>(
      gateway,
      `/entries?search=${encodeURIComponent(search)}&sort=created&order=desc&offset=0&limit=5`,
    );
    assert.equal(page.items.length, 1, `entries matching "${search}"`);
    return page.items[0]!.id;
  };

  /** Waits until `gateway` has applied `count` updates from the team. */
  const applied = (gateway: Harness, count: number) =>
    until(`${count} team updates applied`, async () => ((await health(gateway)).shared?.applied ?? 0) >= count);

  before(async () => {
    await redis.start();
    a = await gatewayWith();
    // Same upstream, same key: the same tenant, so the two may share.
    b = await gatewayWith({ upstream: a.gateway.context.options.upstream });
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await redis.stop();
  });

  it('reports the tier in /health', async () => {
    const report = await health(a);
    assert.equal(report.shared?.state, 'connected');
    assert.equal(report.shared?.team, 'it-team');
  });

  it('an answer fetched through gateway A is an exact hit through gateway B, from the team tier', async () => {
    const before = (await health(b)).shared!.applied;
    const first = await ask(a, 'How do B-trees keep their balance?');
    assert.equal(first.cache, 'MISS');
    // The entry is written to Redis before its announcement: once B has the announcement, Redis has the entry.
    await applied(b, before + 1);
    const fromTeam = await ask(b, 'How do B-trees keep their balance?');
    assert.equal(fromTeam.cache, 'HIT');
    assert.equal(fromTeam.tier, 'team');
    const again = await ask(b, 'How do B-trees keep their balance?');
    assert.equal(again.cache, 'HIT');
    assert.equal(again.tier, null, 'the second hit is local: B kept a copy');
    assert.equal(again.answer, first.answer);
    assert.equal(
      a.sim.requests.filter((request) => request.path.endsWith('/chat/completions')).length,
      1,
      'the upstream answered once for both gateways',
    );
  });

  it('what one gateway learns about an entry, every gateway of the team learns', async () => {
    const before = (await health(b)).shared!.applied;
    await ask(a, 'How is a cuckoo filter sized?');
    const id = await entryId(a, 'cuckoo filter sized');
    await applied(b, before + 1);
    a.gateway.context.cache.semantic!.observe(id, 'chat.completions', { similarity: 0.91, correct: true, at: 1234 });
    await applied(b, before + 2);
    assert.deepEqual(b.gateway.context.cache.semantic!.learned(id, 'chat.completions').observations, [
      { similarity: 0.91, correct: true, at: 1234 },
    ]);
    assert.equal(a.gateway.context.cache.semantic!.learned(id, 'chat.completions').observations.length, 1, 'told once, not echoed back');
  });

  it("a paraphrase of a colleague's question is a semantic hit on another machine", async () => {
    const before = (await health(b)).shared!.applied;
    const original = await ask(a, 'What is the purpose of a write-ahead log?');
    assert.equal(original.cache, 'MISS');
    await applied(b, before + 1);
    const paraphrase = await ask(b, 'Tell me the purpose of a write-ahead log');
    assert.equal(paraphrase.cache, 'SEMANTIC_HIT');
    assert.equal(paraphrase.tier, 'team');
    assert.equal(paraphrase.entry, await entryId(a, 'purpose of a write-ahead log'));
    assert.equal(paraphrase.answer, original.answer);
  });

  it("a gateway with another embedding model embeds a colleague's entry itself, and finds its paraphrase", async () => {
    // Another model id names another vector space: the shared int8 vector cannot be used there.
    const c = await gatewayWith({ upstream: a.gateway.context.options.upstream, embeddingModel: 'another-org/another-model' });
    try {
      await ask(c, 'warm the model up on C');
      // Ready, with everything it had to embed (the warm-up question, the team's earlier entries) done.
      await until('the model on C', async () => {
        const { semantic } = await health(c);
        return semantic.state === 'ready' && semantic.backlog === 0;
      });
      const before = (await health(c)).shared!.applied;
      const vectors = (await health(c)).semantic.entries ?? 0;
      const original = await ask(a, 'How does a bloom filter answer membership queries?');
      assert.equal(original.cache, 'MISS');
      await applied(c, before + 1);
      const id = await entryId(a, 'bloom filter');
      // Embedded on C from the question text it fetched through the team tier.
      await until('C to embed the entry', async () => ((await health(c)).semantic.entries ?? 0) > vectors);
      const paraphrase = await ask(c, 'Tell me how a bloom filter can answer membership queries');
      assert.equal(paraphrase.cache, 'SEMANTIC_HIT');
      assert.equal(paraphrase.entry, id);
      assert.equal(paraphrase.answer, original.answer);
    } finally {
      await c.close();
    }
  });

  it('counts team hits apart in the stats', async () => {
    const stats = await admin<StatsDto>(b, '/stats?window=1h');
    assert.ok(stats.teamHits >= 2, `teamHits ${stats.teamHits}`);
    assert.equal(stats.shared?.state, 'connected');
    assert.equal((await admin<StatsDto>(a, '/stats?window=1h')).teamHits, 0);
    const prometheus = await (await fetch(`${b.gateway.url}/metrics`)).text();
    assert.match(prometheus, /deja_team_hits_total\{outcome="HIT"\} [1-9]/);
    assert.match(prometheus, /deja_team_hits_total\{outcome="SEMANTIC_HIT"\} [1-9]/);
  });

  it('an eviction on A disappears on B: its copy, its vector and the Redis entry', async () => {
    const question = 'Why does TCP need a three-way handshake?';
    let before = (await health(b)).shared!.applied;
    await ask(a, question);
    await applied(b, before + 1);
    assert.equal((await ask(b, question)).tier, 'team');
    before = (await health(b)).shared!.applied;
    await admin(a, '/entries/evict', { method: 'POST', body: JSON.stringify({ ids: [await entryId(a, 'three-way handshake')] }) });
    await applied(b, before + 1);
    assert.equal((await ask(b, 'Tell me why TCP needs a three-way handshake')).cache, 'MISS', 'the paraphrase no longer finds it');
    assert.equal((await ask(b, question)).cache !== 'HIT', true, 'B no longer answers it from its copy');
  });

  it('isolates teams and credentials', async () => {
    const question = 'Which sorting algorithms are stable?';
    await ask(a, question);
    const other = await gatewayWith({ team: 'another-team', upstream: a.gateway.context.options.upstream });
    try {
      assert.equal((await ask(other, question)).cache, 'MISS', 'another team does not see it');
    } finally {
      await other.close();
    }
    // Each asks once: a second question would find the first one's own entry.
    assert.equal((await ask(b, question, 'sk-test-bob')).cache, 'MISS', 'another credential does not see it');
    assert.equal((await ask(b, 'Tell me which sorting algorithms are stable', 'sk-test-carol')).cache, 'MISS', 'nor its paraphrase');
  });

  it('survives Redis going away mid-run: no failed request, no lost local entry, and sharing resumes', async () => {
    const kept = await ask(a, 'What does a load balancer do?');
    await redis.kill();
    // Requests go on, local only.
    const during = await ask(a, 'How does DNS resolution work?');
    assert.equal(during.status, 200);
    assert.equal(during.cache, 'MISS');
    assert.equal((await ask(a, 'How does DNS resolution work?')).cache, 'HIT');
    assert.equal((await ask(a, 'What does a load balancer do?')).cache, 'HIT');
    assert.equal((await ask(b, 'Something nobody asked before?')).status, 200);
    await until('A to notice', async () => (await health(a)).shared?.state === 'down');
    const stats = await admin<StatsDto>(a, '/stats?window=1h');
    assert.equal(stats.shared?.state, 'down');

    await redis.start();
    await until('A to reconnect', async () => (await health(a)).shared?.state === 'connected', 20_000);
    await until('B to reconnect', async () => (await health(b)).shared?.state === 'connected', 20_000);
    assert.equal((await ask(a, 'What does a load balancer do?')).answer, kept.answer, 'the local entry survived');
    const before = (await health(b)).shared!.applied;
    await ask(a, 'What is eventual consistency?');
    await applied(b, before + 1);
    const paraphrase = await ask(b, 'Tell me what eventual consistency is');
    assert.equal(paraphrase.cache, 'SEMANTIC_HIT');
    assert.equal(paraphrase.tier, 'team');
  });

  it('a clear on A clears the team: B forgets what it had from the team', async () => {
    const question = 'What is a bloom filter?';
    let before = (await health(b)).shared!.applied;
    await ask(a, question);
    await applied(b, before + 1);
    assert.equal((await ask(b, question)).cache, 'HIT');
    before = (await health(b)).shared!.applied;
    await admin(a, '/entries', { method: 'DELETE' });
    await applied(b, before + 1);
    assert.equal((await ask(b, question)).cache, 'MISS');
  });
});
