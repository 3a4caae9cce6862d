import assert from 'node:assert/strict';
import http from 'node:http';
import { chatBody, readSse, sleep, startHarness, type Harness } from './harness';

function contentOf(events: string[]): string {
  return events
    .map((data) => JSON.parse(data) as { choices: Array<{ delta?: { content?: string } }> })
    .map((chunk) => chunk.choices[0]?.delta?.content ?? '')
    .join('');
}

describe('identical requests in flight share one upstream call', function () {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it('non-streaming: five concurrent requests, one upstream call, one answer', async () => {
    h = await startHarness({ sim: { ttftMs: 300 } });
    const responses = await Promise.all(Array.from({ length: 5 }, () => h.post('/v1/chat/completions', chatBody('same question'))));
    const bodies = await Promise.all(responses.map((res) => res.json()));
    assert.equal(h.sim.calls('/v1/chat/completions'), 1);
    for (const body of bodies) assert.deepEqual(body, bodies[0]);
    assert.deepEqual(
      responses.map((res) => res.headers.get('x-deja-cache')),
      ['MISS', 'MISS', 'MISS', 'MISS', 'MISS'],
    );
    assert.equal(responses.filter((res) => res.headers.get('x-deja-coalesced') === '1').length, 4);
    assert.equal((await h.post('/v1/chat/completions', chatBody('same question'))).headers.get('x-deja-cache'), 'HIT');
  });

  it('streaming: followers that join mid-stream get every event, and a JSON follower gets the assembled answer', async () => {
    h = await startHarness({ sim: { tokenLatencyMs: 15 } });
    const body = chatBody('a streamed story', { stream: true });
    const leader = h.post('/v1/chat/completions', body);
    await sleep(120); // the leader is some tokens in
    const streamFollower = h.post('/v1/chat/completions', body);
    const jsonFollower = h.post('/v1/chat/completions', { ...body, stream: false });
    const [lead, follow, json] = await Promise.all([leader, streamFollower, jsonFollower]);
    const leadEvents = await readSse(lead);
    const followEvents = await readSse(follow);
    const assembled = (await json.json()) as { choices: Array<{ message: { content: string } }> };
    assert.equal(h.sim.calls('/v1/chat/completions'), 1);
    assert.ok(leadEvents.done && followEvents.done);
    assert.deepEqual(followEvents.events, leadEvents.events);
    assert.equal(assembled.choices[0]!.message.content, contentOf(leadEvents.events));
    assert.equal(follow.headers.get('x-deja-coalesced'), '1');
  });

  it('a streaming follower of a non-streaming call gets the answer as a stream', async () => {
    h = await startHarness({ sim: { ttftMs: 200 } });
    const leader = h.post('/v1/chat/completions', chatBody('mixed forms'));
    await sleep(50);
    const follower = await h.post('/v1/chat/completions', chatBody('mixed forms', { stream: true }));
    const answer = (await (await leader).json()) as { choices: Array<{ message: { content: string } }> };
    const { events, done } = await readSse(follower);
    assert.ok(done);
    assert.equal(contentOf(events), answer.choices[0]!.message.content);
    assert.equal(h.sim.calls('/v1/chat/completions'), 1);
  });

  it('the leader hanging up does not cut off its followers', async () => {
    h = await startHarness({ sim: { tokenLatencyMs: 15 } });
    const payload = JSON.stringify(chatBody('leader leaves', { stream: true }));
    const url = new URL(`${h.gateway.url}/v1/chat/completions`);
    const leader = http.request({
      hostname: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    leader.on('error', () => {});
    leader.end(payload);
    await sleep(80);
    const follower = h.post('/v1/chat/completions', payload);
    await sleep(40);
    leader.destroy();
    const { events, done } = await readSse(await follower);
    assert.ok(done);
    assert.match(contentOf(events), /^Answer \[[0-9a-f]{8}\] to: leader leaves/);
    assert.equal(h.sim.calls('/v1/chat/completions'), 1);
    await sleep(20);
    assert.equal((await h.post('/v1/chat/completions', payload)).headers.get('x-deja-cache'), 'HIT');
  });

  it('when every client hangs up, the upstream call is aborted and nothing is stored', async () => {
    h = await startHarness({ sim: { tokenLatencyMs: 20 } });
    const controller = new AbortController();
    const res = await fetch(`${h.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify(chatBody('nobody listens', { stream: true })),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await sleep(200);
    assert.equal(h.sim.counts.get('/v1/chat/completions') ?? 0, 0, 'the simulated server never finished the generation');
    assert.equal((await h.post('/v1/chat/completions', chatBody('nobody listens'))).headers.get('x-deja-cache'), 'MISS');
  });
});
