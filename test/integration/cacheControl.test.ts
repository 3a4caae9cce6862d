import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startGateway } from '../../src/gateway/startGateway';
import { chatBody, MODEL, sleep, startHarness, type Harness } from './harness';

describe('keys, credentials and cache controls', function () {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('forwards the client Authorization, and never shares entries between two API keys', async () => {
    h = await startHarness();
    const bob = new OpenAI({ baseURL: h.gateway.baseUrl, apiKey: 'sk-test-bob', maxRetries: 0 });
    const params = { model: MODEL, messages: [{ role: 'user' as const, content: 'shared question' }] };
    const alice1 = await h.client.chat.completions.create(params).withResponse();
    assert.equal(h.sim.requests.at(-1)!.headers.authorization, 'Bearer sk-test-alice');
    const bob1 = await bob.chat.completions.create(params).withResponse();
    assert.equal(h.sim.requests.at(-1)!.headers.authorization, 'Bearer sk-test-bob');
    assert.equal(alice1.response.headers.get('x-deja-cache'), 'MISS');
    assert.equal(bob1.response.headers.get('x-deja-cache'), 'MISS');
    const alice2 = await h.client.chat.completions.create(params).withResponse();
    const bob2 = await bob.chat.completions.create(params).withResponse();
    assert.equal(alice2.response.headers.get('x-deja-cache'), 'HIT');
    assert.equal(bob2.response.headers.get('x-deja-cache'), 'HIT');
    assert.notEqual(alice2.response.headers.get('x-deja-entry'), bob2.response.headers.get('x-deja-entry'));
    assert.equal(h.sim.calls('/v1/chat/completions'), 2);
  });

  it('sends the configured upstream key when the client sends none, and the client key when it does', async () => {
    h = await startHarness({ sim: { apiKey: 'team-secret' }, gateway: { upstreamApiKey: 'team-secret' } });
    const anonymous = await h.post('/v1/chat/completions', chatBody('no key'));
    assert.equal(anonymous.status, 200);
    assert.equal(h.sim.requests.at(-1)!.headers.authorization, 'Bearer team-secret');
    const wrongKey = await h.post('/v1/chat/completions', chatBody('no key'), { authorization: 'Bearer mine' });
    assert.equal(wrongKey.status, 401, 'the client key is used as given, and the upstream refusal passed on');
    assert.equal(wrongKey.headers.get('x-deja-cache'), 'MISS');
  });

  it('honours x-deja-ttl, with an absolute expiry', async () => {
    h = await startHarness();
    const body = chatBody('short-lived');
    assert.equal((await h.post('/v1/chat/completions', body, { 'x-deja-ttl': '1' })).headers.get('x-deja-cache'), 'MISS');
    await sleep(500);
    assert.equal((await h.post('/v1/chat/completions', body)).headers.get('x-deja-cache'), 'HIT');
    await sleep(600);
    assert.equal((await h.post('/v1/chat/completions', body)).headers.get('x-deja-cache'), 'MISS', 'the hit did not extend it');
    const zero = await h.post('/v1/chat/completions', chatBody('never stored'), { 'x-deja-ttl': '0' });
    assert.equal(zero.status, 200);
    assert.equal((await h.post('/v1/chat/completions', chatBody('never stored'))).headers.get('x-deja-cache'), 'MISS');
  });

  it('uses the configured default TTL', async () => {
    h = await startHarness({ gateway: { ttlSeconds: 1 } });
    await h.post('/v1/chat/completions', chatBody('default ttl'));
    assert.equal((await h.post('/v1/chat/completions', chatBody('default ttl'))).headers.get('x-deja-cache'), 'HIT');
    await sleep(1100);
    assert.equal((await h.post('/v1/chat/completions', chatBody('default ttl'))).headers.get('x-deja-cache'), 'MISS');
  });

  it('Cache-Control: no-cache skips the lookup and refreshes the entry', async () => {
    h = await startHarness();
    const body = chatBody('refresh me');
    const first = await h.post('/v1/chat/completions', body);
    const firstEntry = await first.json();
    const refreshed = await h.post('/v1/chat/completions', body, { 'cache-control': 'no-cache' });
    assert.equal(refreshed.headers.get('x-deja-cache'), 'SKIP');
    assert.equal(refreshed.headers.get('x-deja-reason'), 'client_opt_out');
    const fresh = (await refreshed.json()) as { id: string };
    assert.notEqual(fresh.id, (firstEntry as { id: string }).id);
    assert.equal(h.sim.calls('/v1/chat/completions'), 2);
    const after = await h.post('/v1/chat/completions', body);
    assert.equal(after.headers.get('x-deja-cache'), 'HIT');
    assert.equal(((await after.json()) as { id: string }).id, fresh.id, 'the refreshed answer replaced the old one');
  });

  it('Cache-Control: no-store neither looks up nor stores', async () => {
    h = await startHarness();
    const body = chatBody('private');
    await h.post('/v1/chat/completions', body);
    const skipped = await h.post('/v1/chat/completions', body, { 'cache-control': 'no-store' });
    assert.equal(skipped.headers.get('x-deja-cache'), 'SKIP');
    assert.equal(skipped.headers.get('x-deja-reason'), 'client_opt_out');
    assert.equal(h.sim.calls('/v1/chat/completions'), 2);
    const other = chatBody('never seen');
    await h.post('/v1/chat/completions', other, { 'cache-control': 'no-store' });
    assert.equal((await h.post('/v1/chat/completions', other)).headers.get('x-deja-cache'), 'MISS');
  });

  it('never stores a truncated answer (finish_reason: length)', async () => {
    h = await startHarness();
    const body = chatBody('a long answer', { max_tokens: 3 });
    const first = (await (await h.post('/v1/chat/completions', body)).json()) as { choices: Array<{ finish_reason: string }> };
    assert.equal(first.choices[0]!.finish_reason, 'length');
    assert.equal((await h.post('/v1/chat/completions', body)).headers.get('x-deja-cache'), 'MISS');
    const streamed = await h.post('/v1/chat/completions', { ...body, stream: true });
    await streamed.text();
    assert.equal((await h.post('/v1/chat/completions', body)).headers.get('x-deja-cache'), 'MISS');
    assert.equal(h.sim.calls('/v1/chat/completions'), 4);
  });

  it('keeps requests that differ in a sampling parameter apart', async () => {
    h = await startHarness();
    await h.post('/v1/chat/completions', chatBody('params', { temperature: 0 }));
    assert.equal((await h.post('/v1/chat/completions', chatBody('params', { temperature: 0.5 }))).headers.get('x-deja-cache'), 'MISS');
    assert.equal((await h.post('/v1/chat/completions', chatBody('params'))).headers.get('x-deja-cache'), 'MISS');
    assert.equal((await h.post('/v1/chat/completions', chatBody('params', { temperature: 0 }))).headers.get('x-deja-cache'), 'HIT');
    const reordered = JSON.stringify({ temperature: 0, messages: [{ content: 'params', role: 'user' }], model: MODEL });
    assert.equal((await h.post('/v1/chat/completions', reordered)).headers.get('x-deja-cache'), 'HIT');
  });

  it('forwards everything untouched with caching turned off', async () => {
    h = await startHarness({ gateway: { cachingEnabled: false } });
    for (let i = 0; i < 2; i++) {
      const res = await h.post('/v1/chat/completions', chatBody('off'));
      assert.equal(res.headers.get('x-deja-cache'), 'BYPASS');
      assert.equal(res.headers.get('x-deja-reason'), 'caching_disabled');
    }
    assert.equal(h.sim.calls('/v1/chat/completions'), 2);
  });

  it('keeps entries across a gateway restart on the same data directory', async () => {
    h = await startHarness();
    const body = chatBody('persist me');
    const answer = await (await h.post('/v1/chat/completions', body)).json();
    const options = h.gateway.context.options;
    await h.gateway.close();
    h.gateway = await startGateway(options, { logger: h.logger });
    const again = await fetch(`${h.gateway.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(body) });
    assert.equal(again.headers.get('x-deja-cache'), 'HIT');
    assert.deepEqual(await again.json(), answer);
  });
});
