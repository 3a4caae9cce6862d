import assert from 'node:assert/strict';
import type { StatsDto, SkippedPageDto, EntryDetailDto } from '../../src/shared/protocol';
import { allCases } from '../fixtures/devtools/index';
import type { DevtoolRequest } from '../fixtures/devtools/types';
import { SESSION_A, SESSION_B } from '../fixtures/devtools/workspace';
import { readSse, sleep, startHarness, type Harness } from './harness';

/** Every model the corpus asks for: the simulated vLLM serves them all. */
const MODELS = [...new Set(allCases().map(({ module, c }) => String(module.build(c, SESSION_A).body.model)))];
const start = (gateway: Parameters<typeof startHarness>[0] extends infer S ? (S extends { gateway?: infer G } ? G : never) : never = {}) =>
  startHarness({ sim: { models: [...MODELS, 'sim-llama-3-8b'] }, gateway });

/** A corpus case's request in a session, by id. */
function request(id: string, session = SESSION_A): DevtoolRequest {
  const found = allCases().find(({ c }) => c.id === id);
  if (!found) throw new Error(`no case ${id}`);
  return found.module.build(found.c, session);
}

/** Sends a request as the tool sends it: its path, its headers, its body. */
async function send(h: Harness, sent: DevtoolRequest): Promise<{ response: Response; body: string }> {
  const headers = Object.fromEntries(
    Object.entries(sent.headers).filter(([name]) => !['content-length', 'host', 'accept-encoding'].includes(name)),
  );
  const response = await h.post(sent.endpoint, sent.body, headers);
  return { response, body: await response.text() };
}

/** Waits until the answer to a miss is stored (the flight stays joinable until then). */
async function stored(h: Harness, key: string): Promise<void> {
  for (let i = 0; i < 100 && h.gateway.context.flights.has(key); i++) await sleep(5);
}

describe('real dev-tool traffic through the gateway', function () {
  let h: Harness;
  const admin = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${h.gateway.url}/deja/v1${path}`, {
      headers: { authorization: `Bearer ${h.gateway.context.adminToken}` },
    });
    assert.equal(response.status, 200);
    return (await response.json()) as T;
  };

  afterEach(async () => {
    await h.close();
  });

  it("caches Cline's conceptual question and answers a later session from it, saying the clock was masked", async () => {
    h = await start();
    const first = await send(h, request('cline-001', SESSION_A));
    assert.equal(first.response.headers.get('x-deja-cache'), 'MISS');
    assert.equal(first.response.headers.get('x-deja-normalized'), 'time, usage');
    assert.ok((await readSse(new Response(first.body))).done, 'Cline streams, and the stream ends with [DONE]');
    await sleep(50);

    const later = await send(h, request('cline-001', SESSION_B));
    assert.equal(later.response.headers.get('x-deja-cache'), 'HIT');
    assert.equal(later.response.headers.get('x-deja-normalized'), 'time, usage');
    assert.equal(h.sim.calls('/v1/chat/completions'), 1);

    const entryId = later.response.headers.get('x-deja-entry')!;
    const entry = await admin<EntryDetailDto>(`/entries/${entryId}`);
    assert.deepEqual(entry.normalized, ['time', 'usage']);
    assert.equal(entry.prompt, 'What is the difference between a connection pool and a single client in node-postgres?');
  });

  it('skips an edit task with its reason, and points the highlight at the task in the request as stored', async () => {
    h = await start();
    const { response } = await send(h, request('cline-002'));
    assert.equal(response.headers.get('x-deja-cache'), 'SKIP');
    assert.equal(response.headers.get('x-deja-reason'), 'code_generation');
    await sleep(50);
    const page = await admin<SkippedPageDto>('/skipped');
    const skipped = page.items[0]!;
    assert.equal(skipped.tool, 'cline');
    assert.equal(skipped.span?.field, 'messages[1].content');
    assert.equal(skipped.prompt!.slice(skipped.span!.start, skipped.span!.end), skipped.span!.text);
    assert.match(skipped.span!.text, /Refactor src\/db\/pool\.ts/);
    assert.equal(skipped.status, 200);
  });

  it('skips autocomplete however it comes: FIM markers in the prompt, a suffix of "\\n", suffix null, a path header', async () => {
    h = await start();
    for (const id of ['continue-022', 'tabby-013', 'tabby-001', 'cody-021', 'twinny-019']) {
      const sent = request(id);
      const { response, body } = await send(h, sent);
      assert.equal(response.headers.get('x-deja-cache'), 'SKIP', id);
      assert.equal(response.headers.get('x-deja-reason'), 'code_generation', id);
      // The simulated vLLM answers completions as vLLM does: text choices, streamed when asked.
      if (sent.body.stream === true) {
        const { events, done } = await readSse(new Response(body));
        assert.ok(done, id);
        const chunk = JSON.parse(events[0]!) as { object: string; choices: Array<{ text: string }> };
        assert.equal(chunk.object, 'text_completion', id);
        assert.equal(typeof chunk.choices[0]!.text, 'string', id);
      }
    }
    assert.equal(h.sim.calls('/v1/completions'), 5);
  });

  it('answers a completion without a stream in the completions format', async () => {
    h = await start();
    const response = await h.post('/v1/completions', { model: 'sim-llama-3-8b', prompt: 'The French Revolution began in 1789 when' });
    const body = (await response.json()) as { object: string; choices: Array<{ text: string; finish_reason: string }> };
    assert.equal(body.object, 'text_completion');
    assert.match(body.choices[0]!.text, /^Answer/);
    assert.equal(body.choices[0]!.finish_reason, 'stop');
  });

  it('shows requests, hit rate and skips by tool, and the tools that write the clock into user messages', async () => {
    h = await start();
    for (const id of ['cline-001', 'cline-002', 'roo-001', 'continue-001', 'continue-022', 'openai-sdk-001']) await send(h, request(id));
    await sleep(50);
    await send(h, request('cline-001', SESSION_B));
    await sleep(50);
    const stats = await admin<StatsDto>('/stats?window=1h');
    const byTool = Object.fromEntries(stats.byTool.map((row) => [row.tool, row]));
    assert.deepEqual(
      [byTool.cline?.requests, byTool.cline?.hits, byTool.cline?.skipped, byTool.cline?.skippedByReason],
      [3, 1, 1, { code_generation: 1 }],
    );
    assert.deepEqual([byTool['roo-code']?.requests, byTool.continue?.requests, byTool['openai-sdk']?.requests], [1, 2, 1]);
    assert.equal(byTool.continue?.skippedByReason.code_generation, 1);
    const cline = stats.volatileUserParts.find((row) => row.tool === 'cline');
    assert.ok(cline && cline.withVolatile === 3 && cline.volatileKinds.includes('time'), JSON.stringify(stats.volatileUserParts));
    assert.match(cline.example, /Current Time/);
    assert.ok(stats.prefixStability.some((row) => row.tool === 'cline'));
  });

  it('keys every session apart with --normalize-volatile off', async () => {
    h = await start({ normalizeVolatile: false });
    const first = await send(h, request('cline-001', SESSION_A));
    assert.equal(first.response.headers.get('x-deja-normalized'), null);
    await sleep(50);
    const later = await send(h, request('cline-001', SESSION_B));
    assert.equal(later.response.headers.get('x-deja-cache'), 'MISS');
    assert.equal(h.sim.calls('/v1/chat/completions'), 2);
  });

  it('serves hostile wrappers without an error: unclosed tags, nested blocks, a megabyte of environment details, markers in the question', async () => {
    h = await start();
    const M = 'sim-llama-3-8b';
    const env = `<environment_details>\n# Current Time\n1/1/2026\n${'# Visible Files\nsrc/a.ts\n'.repeat(45_000)}</environment_details>`;
    const bodies = [
      { model: M, messages: [{ role: 'user', content: '<task>\nWhat is a pool?\n<environment_details>\n# Current Time\nnow' }] },
      { model: M, messages: [{ role: 'user', content: '<task>\n<task>\n<task>\nWhat is a pool?\n</task>\n</task>\n</task>' }] },
      {
        model: M,
        messages: [
          { role: 'system', content: 'You are Cline' },
          {
            role: 'user',
            content: [
              { type: 'text', text: '<task>\nWhat is a pool?\n</task>' },
              { type: 'text', text: env },
            ],
          },
        ],
      },
      { model: M, messages: [{ role: 'user', content: 'What does <|fim_prefix|> mean, and <|fim_suffix|>?' }] },
      { model: M, prompt: '<|fim_prefix|><|fim_suffix|><|fim_middle|><|fim_prefix|>' },
    ];
    for (const body of bodies) {
      const response = await h.post(body.prompt ? '/v1/completions' : '/v1/chat/completions', body);
      assert.equal(response.status, 200, JSON.stringify(body).slice(0, 80));
      await response.text();
    }
    const health = await fetch(`${h.gateway.url}/health`);
    assert.equal(health.status, 200);
  });

  it('stores the answer a later session of an agent task finds, through every turn', async () => {
    h = await start();
    const turn = request('openhands-003', SESSION_A);
    const first = await send(h, turn);
    assert.equal(first.response.headers.get('x-deja-cache'), 'MISS');
    assert.match(first.response.headers.get('x-deja-normalized') ?? '', /date/);
    await stored(h, '');
    await sleep(50);
    const later = await send(h, request('openhands-003', SESSION_B));
    assert.equal(later.response.headers.get('x-deja-cache'), 'HIT');
  });
});
