import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import { chatBody, MODEL, readSse, REASONING_MODEL, sleep, startHarness, type Harness } from './harness';

type ChatChunk = OpenAI.Chat.Completions.ChatCompletionChunk;

/** Accumulates an SDK stream into what the user would see. */
async function collect(stream: AsyncIterable<ChatChunk>) {
  let content = '';
  let reasoning = '';
  let finish: string | null = null;
  let usage: ChatChunk['usage'] = null;
  const tools: Record<number, { id?: string; name: string; arguments: string }> = {};
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      const delta = choice.delta as ChatChunk['choices'][number]['delta'] & { reasoning_content?: string };
      content += delta.content ?? '';
      reasoning += delta.reasoning_content ?? '';
      for (const call of delta.tool_calls ?? []) {
        const slot = (tools[call.index] ??= { name: '', arguments: '' });
        if (call.id) slot.id = call.id;
        slot.name += call.function?.name ?? '';
        slot.arguments += call.function?.arguments ?? '';
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  return { content, reasoning, finish, usage, tools: Object.values(tools), chunks };
}

describe('gateway with the official openai SDK', function () {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('answers a repeated chat request from the cache, calling the upstream once', async () => {
    const params = { model: MODEL, messages: [{ role: 'user' as const, content: 'What is a cache?' }] };
    const first = await h.client.chat.completions.create(params).withResponse();
    const second = await h.client.chat.completions.create(params).withResponse();
    assert.equal(first.response.headers.get('x-deja-cache'), 'MISS');
    assert.equal(second.response.headers.get('x-deja-cache'), 'HIT');
    assert.match(second.response.headers.get('x-deja-entry') ?? '', /^[0-9a-f]{32}$/);
    assert.deepEqual(second.data, first.data);
    assert.match(first.data.choices[0]!.message.content ?? '', /^Answer \[[0-9a-f]{8}\] to: What is a cache\?/);
    assert.equal(h.sim.calls('/v1/chat/completions'), 1);
  });

  it('passes a streamed miss through, then replays it as a stream and as JSON', async () => {
    const params = { model: MODEL, messages: [{ role: 'user' as const, content: 'Stream me a story' }] };
    const miss = await h.client.chat.completions.create({ ...params, stream: true }).withResponse();
    assert.equal(miss.response.headers.get('x-deja-cache'), 'MISS');
    const missed = await collect(miss.data);
    await sleep(20);

    const hit = await h.client.chat.completions.create({ ...params, stream: true }).withResponse();
    assert.equal(hit.response.headers.get('x-deja-cache'), 'HIT');
    assert.equal(hit.response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const replayed = await collect(hit.data);
    assert.equal(replayed.content, missed.content);
    assert.equal(replayed.finish, 'stop');
    assert.ok(replayed.chunks >= 5, `replayed in ${replayed.chunks} chunks`);
    assert.equal(replayed.usage, null, 'no usage chunk unless asked');

    const json = await h.client.chat.completions.create(params).withResponse();
    assert.equal(json.response.headers.get('x-deja-cache'), 'HIT');
    assert.equal(json.data.choices[0]!.message.content, missed.content);
    assert.equal(json.data.usage?.completion_tokens, missed.content.split(' ').length, 'usage stored from the stream');
    assert.equal(h.sim.calls('/v1/chat/completions'), 1);
  });

  it('replays a JSON-stored answer as a stream, with the usage chunk when asked', async () => {
    const params = { model: MODEL, messages: [{ role: 'user' as const, content: 'JSON first' }] };
    const stored = await h.client.chat.completions.create(params);
    const hit = await h.client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }).withResponse();
    assert.equal(hit.response.headers.get('x-deja-cache'), 'HIT');
    const replayed = await collect(hit.data);
    assert.equal(replayed.content, stored.choices[0]!.message.content);
    assert.deepEqual(replayed.usage, stored.usage);
  });

  it('hides the usage chunk it asked the upstream for, and shows it to clients that asked', async () => {
    const plain = await h.post('/v1/chat/completions', chatBody('usage please', { stream: true }));
    const { events, done } = await readSse(plain);
    assert.ok(done);
    assert.ok(!events.some((data) => JSON.parse(data).usage), 'no usage chunk for a client that did not ask');
    assert.equal((h.sim.requests.at(-1)!.body!.stream_options as { include_usage: boolean }).include_usage, true);

    const withUsage = await h.post(
      '/v1/chat/completions',
      chatBody('usage please, live', { stream: true, stream_options: { include_usage: true } }),
    );
    const live = await readSse(withUsage);
    assert.ok(JSON.parse(live.events.at(-1)!).usage.total_tokens > 0);
  });

  it('keeps reasoning_content through a streamed miss, a stream replay and a JSON hit', async () => {
    const params = { model: REASONING_MODEL, messages: [{ role: 'user' as const, content: 'Why is the sky blue?' }] };
    const missed = await collect(await h.client.chat.completions.create({ ...params, stream: true }));
    assert.match(missed.reasoning, /^Thinking about/);
    await sleep(20);
    const replayed = await collect(await h.client.chat.completions.create({ ...params, stream: true }));
    assert.equal(replayed.reasoning, missed.reasoning);
    assert.equal(replayed.content, missed.content);
    const json = (await h.client.chat.completions.create(params)) as OpenAI.Chat.Completions.ChatCompletion & {
      choices: Array<{ message: { reasoning_content?: string } }>;
    };
    assert.equal(json.choices[0]!.message.reasoning_content, missed.reasoning);
  });

  it('caches tool calls, streamed and not, and replays them intact', async () => {
    const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'lookup_city', parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
    ];
    const params = {
      model: MODEL,
      tools,
      tool_choice: 'required' as const,
      messages: [{ role: 'user' as const, content: 'Population of Oslo' }],
    };
    const missed = await collect(await h.client.chat.completions.create({ ...params, stream: true }));
    assert.equal(missed.finish, 'tool_calls');
    assert.equal(missed.tools[0]?.name, 'lookup_city');
    assert.deepEqual(Object.keys(JSON.parse(missed.tools[0]!.arguments)), ['query', 'seed']);
    await sleep(20);
    const replayed = await collect(await h.client.chat.completions.create({ ...params, stream: true }));
    assert.deepEqual(replayed.tools, missed.tools);
    assert.equal(replayed.finish, 'tool_calls');
    const json = await h.client.chat.completions.create(params).withResponse();
    assert.equal(json.response.headers.get('x-deja-cache'), 'HIT');
    assert.deepEqual(json.data.choices[0]!.message.tool_calls, [
      { id: missed.tools[0]!.id, type: 'function', function: { name: 'lookup_city', arguments: missed.tools[0]!.arguments } },
    ]);
    assert.equal(h.sim.calls('/v1/chat/completions'), 1);
  });

  it('caches /v1/completions, streamed and not', async () => {
    const params = { model: MODEL, prompt: 'Once upon a time' };
    const first = await h.client.completions.create(params).withResponse();
    assert.equal(first.response.headers.get('x-deja-cache'), 'MISS');
    const stream = await h.client.completions.create({ ...params, stream: true }).withResponse();
    assert.equal(stream.response.headers.get('x-deja-cache'), 'HIT');
    let text = '';
    for await (const chunk of stream.data) text += chunk.choices[0]?.text ?? '';
    assert.equal(text, first.data.choices[0]!.text);
    assert.equal(h.sim.calls('/v1/completions'), 1);
  });

  it('caches /v1/embeddings', async () => {
    const first = await h.client.embeddings.create({ model: MODEL, input: ['alpha', 'beta'] }).withResponse();
    const second = await h.client.embeddings.create({ model: MODEL, input: ['alpha', 'beta'] }).withResponse();
    assert.equal(first.response.headers.get('x-deja-cache'), 'MISS');
    assert.equal(second.response.headers.get('x-deja-cache'), 'HIT');
    assert.deepEqual(second.data.data, first.data.data);
    assert.equal(second.data.data.length, 2);
    assert.equal(h.sim.calls('/v1/embeddings'), 1);
  });

  it('passes /v1/models and other /v1 paths through, never cached', async () => {
    const models = await h.client.models.list().withResponse();
    assert.equal(models.response.headers.get('x-deja-cache'), 'BYPASS');
    assert.deepEqual(
      models.data.data.map((model) => model.id),
      h.sim.config.models,
    );
    await h.client.models.list();
    assert.equal(h.sim.calls('/v1/models'), 2);
    const other = await h.post('/v1/tokenize', { model: MODEL, prompt: 'x' });
    assert.equal(other.status, 404, 'the upstream said 404 and Deja passed it on');
    assert.equal(other.headers.get('x-deja-cache'), 'BYPASS');
    assert.equal(h.sim.calls('/v1/tokenize'), 1);
  });

  it('matches the cached endpoints as express matched routes: any case, a trailing slash, a query string', async () => {
    const body = chatBody('routed on the direct path');
    const first = await h.post('/v1/chat/completions', body);
    assert.equal(first.headers.get('x-deja-cache'), 'MISS');
    for (const path of ['/v1/chat/completions/', '/V1/Chat/Completions', '/v1/chat/completions?api-version=1']) {
      const res = await h.post(path, body);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('x-deja-cache'), 'HIT', path);
    }
    assert.equal(h.sim.calls('/v1/chat/completions'), 1);
    // Another method on the same path is not a cached call: it is passed through.
    const get = await fetch(`${h.gateway.url}/v1/chat/completions`);
    assert.equal(get.headers.get('x-deja-cache'), 'BYPASS');
    // A path that only starts like a cached endpoint is not one.
    const other = await h.post('/v1/chat/completions/extra', body);
    assert.equal(other.headers.get('x-deja-cache'), 'BYPASS');
  });

  it('skips what only the text refuses, scanned while the upstream works: SKIP with its reason, never stored, never shared', async () => {
    // The semantic level is off here, so a plain miss's text is scanned after its request has gone upstream.
    const body = chatBody('What is the weather in Paris today?');
    for (let i = 0; i < 2; i++) {
      const res = await h.post('/v1/chat/completions', body);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-deja-cache'), 'SKIP');
      assert.equal(res.headers.get('x-deja-reason'), 'time_sensitive');
      await res.text();
    }
    const streamed = await h.post('/v1/chat/completions', chatBody('Write a function that parses a CSV line', { stream: true }));
    assert.equal(streamed.headers.get('x-deja-cache'), 'SKIP');
    assert.equal(streamed.headers.get('x-deja-reason'), 'code_generation');
    assert.match(await streamed.text(), /data: \[DONE\]/);
    assert.equal(h.sim.calls('/v1/chat/completions'), 3);

    // Identical skipped requests in flight at once each get their own answer.
    h.sim.config.ttftMs = 100;
    const together = await Promise.all([1, 2, 3].map(() => h.post('/v1/chat/completions', body)));
    for (const res of together) {
      assert.equal(res.headers.get('x-deja-cache'), 'SKIP');
      assert.equal(res.headers.get('x-deja-coalesced'), null);
      await res.text();
    }
    assert.equal(h.sim.calls('/v1/chat/completions'), 6);

    // The events name the reason and the span, as when the policy ran first.
    await sleep(50);
    const skipped = await fetch(`${h.gateway.url}/deja/v1/skipped`, {
      headers: { authorization: `Bearer ${h.gateway.context.adminToken}` },
    });
    const page = (await skipped.json()) as {
      total: number;
      items: Array<{ reason: string; span: { text: string } | null; prompt: string | null }>;
    };
    assert.equal(page.total, 6);
    const code = page.items.find((item) => item.reason === 'code_generation')!;
    assert.equal(code.prompt, 'Write a function that parses a CSV line');
    assert.equal(code.span?.text, 'Write a function');
    assert.ok(page.items.filter((item) => item.reason === 'time_sensitive').every((item) => item.span?.text === 'today'));
    const entries = await fetch(`${h.gateway.url}/deja/v1/entries`, {
      headers: { authorization: `Bearer ${h.gateway.context.adminToken}` },
    });
    assert.equal(((await entries.json()) as { total: number }).total, 0, 'nothing was stored');
  });

  it('reports its identity on /health', async () => {
    const health = (await (await fetch(`${h.gateway.url}/health`)).json()) as Record<string, unknown>;
    assert.equal(health.name, 'deja');
    assert.equal(health.pid, process.pid);
    assert.equal(health.dataDir, h.dataDir);
    assert.equal(health.upstream, h.gateway.context.upstream.baseUrl);
    assert.match(String(health.version), /^\d+\.\d+\.\d+/);
  });
});
