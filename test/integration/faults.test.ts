/**
 * The upstream failing in every way we know of, below HTTP (a TCP proxy that refuses,
 * resets, cuts, stalls and trickles) and at HTTP (the simulated vLLM's faults). For each:
 * every client gets a clear OpenAI-shaped error or the correct answer; identical requests
 * that share one upstream call all get the same outcome; nothing partial or failed is
 * stored (exact store, entry list, vector index); and the next request after the upstream
 * recovers is answered and stored as usual.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../src/core/logger';
import { DEFAULT_OPTIONS } from '../../src/core/options';
import type { JsonObject } from '../../src/core/types';
import { startGateway, type RunningGateway } from '../../src/gateway/startGateway';
import { ADMIN_BASE } from '../../src/shared/protocol';
import { FakeEmbedder } from '../fixtures/fakeEmbedder';
import { FaultProxy } from '../fixtures/faultProxy';
import { entryIdOf, simContent } from '../fixtures/loadClient';
import { SimVllm } from '../fixtures/simVllm';
import { CapturingLogger, MODEL, sleep } from './harness';

const AUTH = 'Bearer sk-faults';
/** Every upstream answer and fault takes this long: identical requests sent meanwhile share it. */
const UPSTREAM_MS = 150;
const TIMEOUT_MS = 600;

/** What a client made of its response, read the way an SDK reads it. */
interface Outcome {
  status: number;
  /** The error's code (a stream's error event, or a JSON error body); undefined for an answer. */
  code: string | undefined;
  message: string | undefined;
  /** The answer's text; for a stream cut short, the text that arrived before the error. */
  content: string;
  stream: boolean;
  coalesced: boolean;
  cache: string | null;
  contentType: string;
}

async function outcomeOf(response: Response): Promise<Outcome> {
  const contentType = response.headers.get('content-type') ?? '';
  const text = await response.text();
  const base = {
    status: response.status,
    coalesced: response.headers.get('x-deja-coalesced') === '1',
    cache: response.headers.get('x-deja-cache'),
    contentType,
  };
  if (contentType.includes('text/event-stream')) {
    let content = '';
    let done = false;
    let error: JsonObject | undefined;
    for (const block of text.split('\n\n')) {
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n');
      if (!data) continue;
      if (data === '[DONE]') {
        done = true;
        continue;
      }
      // Every event must be JSON: a client's parser would throw on anything else.
      const chunk = JSON.parse(data) as JsonObject;
      if (chunk.error) error = chunk.error as JsonObject;
      const delta = ((chunk.choices as JsonObject[] | undefined)?.[0]?.delta ?? {}) as JsonObject;
      if (typeof delta.content === 'string') content += delta.content;
    }
    if (!error && !done) error = { code: 'cut off without [DONE] or an error event', message: '' };
    return {
      ...base,
      stream: true,
      content,
      code: error ? String(error.code) : undefined,
      message: error ? String(error.message) : undefined,
    };
  }
  assert.match(contentType, /application\/json/, `a JSON body, not ${contentType}: ${text.slice(0, 200)}`);
  const body = JSON.parse(text) as JsonObject;
  if (body.error) {
    const error = body.error as JsonObject;
    assert.equal(typeof error.message, 'string', 'an OpenAI-shaped error has a message');
    assert.equal(typeof error.type, 'string', 'an OpenAI-shaped error has a type');
    return { ...base, stream: false, content: '', code: String(error.code), message: String(error.message) };
  }
  const choice = (body.choices as JsonObject[])[0]!;
  return { ...base, stream: false, content: String((choice.message as JsonObject).content), code: undefined, message: undefined };
}

interface Env {
  sim: SimVllm;
  proxy: FaultProxy;
  gateway: RunningGateway;
  dataDir: string;
  logger: CapturingLogger;
}

async function startEnv(): Promise<Env> {
  const sim = new SimVllm({ ttftMs: UPSTREAM_MS, tokenLatencyMs: 2, faultDelayMs: UPSTREAM_MS });
  const proxy = FaultProxy.for(await sim.start());
  const upstream = await proxy.start();
  const dataDir = await mkdtemp(join(tmpdir(), 'deja-faults-'));
  const logger = new CapturingLogger();
  const gateway = await startGateway(
    {
      ...DEFAULT_OPTIONS,
      port: 0,
      dataDir,
      upstream,
      upstreamTimeoutMs: TIMEOUT_MS,
      logLevel: 'error',
      semantic: true,
      semanticMode: 'static',
      semanticThreshold: 0.9,
      revalidateShare: 0,
      vllmMetricsIntervalMs: 0,
    },
    { logger: logger as Logger, embedder: new FakeEmbedder() },
  );
  await gateway.context.cache.semantic!.start();
  return { sim, proxy, gateway, dataDir, logger };
}

describe('upstream faults: clear errors, shared outcomes, nothing bad stored, recovery', function () {
  this.timeout(20_000);
  let env: Env;
  let counter = 0;

  before(async () => {
    env = await startEnv();
  });
  after(async () => {
    await env.gateway.close();
    await env.proxy.stop();
    await env.sim.stop();
    await rm(env.dataDir, { recursive: true, force: true });
  });
  afterEach(() => {
    env.sim.reset();
    env.proxy.fault = { kind: 'pass' };
  });

  const post = (body: JsonObject, headers: Record<string, string> = {}) =>
    fetch(`${env.gateway.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH, ...headers },
      body: JSON.stringify(body),
    });

  /** A question no earlier test asked. */
  const question = (topic: string): JsonObject => ({
    model: MODEL,
    messages: [{ role: 'user', content: `Fault ${++counter}: explain ${topic} in detail` }],
  });

  /** Entries on the admin API's list, and vectors in the index. */
  const stored = async (): Promise<{ listed: number; vectors: number }> => {
    const res = await fetch(`${env.gateway.url}${ADMIN_BASE}/entries?limit=1`, {
      headers: { authorization: `Bearer ${env.gateway.context.adminToken}` },
    });
    const page = (await res.json()) as { total: number };
    await env.gateway.context.cache.semantic!.flush();
    return { listed: page.total, vectors: env.gateway.context.cache.semantic!.status().entries ?? 0 };
  };

  /**
   * A leader, then three identical requests while it runs (streaming and not), all with the
   * same fault headers. Returns the four outcomes, the leader's first.
   */
  async function burstOf(body: JsonObject, leaderStreams: boolean, headers: Record<string, string> = {}): Promise<Outcome[]> {
    const leader = post({ ...body, ...(leaderStreams ? { stream: true } : {}) }, headers);
    await sleep(40);
    const followers = [true, false, !leaderStreams].map((stream) => post({ ...body, ...(stream ? { stream: true } : {}) }, headers));
    return Promise.all([leader, ...followers].map(async (response) => outcomeOf(await response)));
  }

  /** Nothing was stored for `body`, and the lists did not grow. */
  async function assertNothingStored(body: JsonObject, before: { listed: number; vectors: number }): Promise<void> {
    await sleep(50); // a store, if one were to happen, runs after the response
    const id = entryIdOf(env.proxy.baseUrl, AUTH, body);
    assert.equal(await env.gateway.context.cache.entry(id), undefined, 'no entry in the exact store');
    assert.deepEqual(await stored(), before, 'the entry list and the vector index did not grow');
  }

  /** The upstream is fine again: the very next request is answered correctly, stored, and then a HIT. */
  async function assertRecovered(body: JsonObject): Promise<void> {
    const before = await stored();
    const first = await outcomeOf(await post(body));
    assert.equal(first.status, 200, `recovered: ${first.message}`);
    assert.equal(first.cache, 'MISS');
    assert.equal(first.content, simContent(body));
    let again = await outcomeOf(await post(body));
    for (let i = 0; i < 20 && again.cache !== 'HIT'; i++) {
      await sleep(25);
      again = await outcomeOf(await post(body));
    }
    assert.equal(again.cache, 'HIT', 'stored once the upstream answered');
    assert.equal(again.content, first.content);
    assert.equal((await stored()).listed, before.listed + 1);
  }

  /** Every one of the outcomes is the same error: `code`, with an error status before any byte, or an error event after the stream began. */
  function assertSameError(outcomes: Outcome[], code: string, status: number): void {
    for (const [i, outcome] of outcomes.entries()) {
      assert.equal(outcome.code, code, `client ${i}: ${JSON.stringify(outcome)}`);
      assert.ok(outcome.message && outcome.message.length > 10, `client ${i} has a message saying what happened`);
      if (outcome.stream && outcome.status === 200) assert.ok(outcome.contentType.includes('event-stream'));
      else assert.equal(outcome.status, status, `client ${i}: ${JSON.stringify(outcome)}`);
    }
  }

  const assertShared = (outcomes: Outcome[]) =>
    assert.equal(outcomes.filter((outcome) => outcome.coalesced).length, 3, 'the three followers shared the leader’s upstream call');

  interface ErrorCase {
    title: string;
    leaderStreams: boolean;
    headers: Record<string, string>;
    code: string;
    status: number;
    /** A stream that began: the streaming leader got the first tokens before the error. */
    partial?: boolean;
    /** A failure faster than the followers' arrival: each asks on its own, and fails the same way. */
    instant?: boolean;
  }

  const errorCases: ErrorCase[] = [
    {
      title: 'a 5xx with an OpenAI body: passed on as it is',
      leaderStreams: false,
      headers: { 'x-sim-fault': 'status:500' },
      code: '500',
      status: 500,
    },
    {
      title: "a load balancer's HTML 503 page: 503 in the OpenAI shape",
      leaderStreams: true,
      headers: { 'x-sim-fault': 'status-html:503' },
      code: 'upstream_http_error',
      status: 503,
    },
    {
      title: 'a hang past the timeout: 504',
      leaderStreams: false,
      headers: { 'x-sim-fault': 'hang' },
      code: 'upstream_timeout',
      status: 504,
    },
    {
      title: 'a hang past the timeout, streaming: 504 before any byte',
      leaderStreams: true,
      headers: { 'x-sim-fault': 'hang' },
      code: 'upstream_timeout',
      status: 504,
    },
    {
      title: 'the answer stalling half-way (TCP): 504',
      leaderStreams: false,
      headers: { 'x-proxy-fault': 'stall:300' },
      code: 'upstream_timeout',
      status: 504,
    },
    {
      title: 'a stream going silent: an error event',
      leaderStreams: true,
      headers: { 'x-sim-fault': 'hang-mid-stream' },
      code: 'upstream_stream_interrupted',
      status: 502,
      partial: true,
    },
    {
      title: 'a reset as the request arrives (TCP RST): 502',
      leaderStreams: false,
      headers: { 'x-proxy-fault': 'reset:0' },
      code: 'upstream_unreachable',
      status: 502,
      instant: true,
    },
    {
      title: 'the server resetting the connection instead of answering: 502',
      leaderStreams: true,
      headers: { 'x-sim-fault': 'reset' },
      code: 'upstream_unreachable',
      status: 502,
    },
    {
      title: 'a reset half-way through a JSON answer: 502',
      leaderStreams: false,
      headers: { 'x-proxy-fault': 'reset:300' },
      code: 'upstream_unreachable',
      status: 502,
    },
    {
      title: 'a reset mid-stream (TCP RST): an error event',
      leaderStreams: true,
      headers: { 'x-proxy-fault': 'reset:1200' },
      code: 'upstream_stream_interrupted',
      status: 502,
    },
    {
      title: 'a clean close mid-stream (TCP FIN): an error event',
      leaderStreams: true,
      headers: { 'x-proxy-fault': 'cut:1200' },
      code: 'upstream_stream_interrupted',
      status: 502,
      partial: true,
    },
    {
      title: 'the server dying mid-stream: an error event',
      leaderStreams: true,
      headers: { 'x-sim-fault': 'drop-mid-stream' },
      code: 'upstream_stream_interrupted',
      status: 502,
      partial: true,
    },
    {
      title: 'a trickle slower than the timeout: 504',
      leaderStreams: false,
      headers: { 'x-proxy-fault': `trickle:16:${TIMEOUT_MS * 2}` },
      code: 'upstream_timeout',
      status: 504,
    },
    {
      title: 'malformed SSE: the bad event dropped, an error event instead of [DONE]',
      leaderStreams: true,
      headers: { 'x-sim-fault': 'malformed-sse' },
      code: 'upstream_malformed_stream',
      status: 502,
      partial: true,
    },
    {
      title: "an engine error inside the stream: the upstream's error event",
      leaderStreams: true,
      headers: { 'x-sim-fault': 'error-event' },
      code: '500',
      status: 502,
      partial: true,
    },
    {
      title: 'a stream without [DONE]: an error event',
      leaderStreams: true,
      headers: { 'x-sim-fault': 'no-done' },
      code: 'upstream_stream_interrupted',
      status: 502,
      partial: true,
    },
    {
      title: 'HTML with status 200: 502 upstream_bad_response',
      leaderStreams: false,
      headers: { 'x-sim-fault': 'wrong-content-type' },
      code: 'upstream_bad_response',
      status: 502,
    },
    {
      title: 'JSON cut in half with status 200: 502 upstream_bad_response',
      leaderStreams: false,
      headers: { 'x-sim-fault': 'truncated-json' },
      code: 'upstream_bad_response',
      status: 502,
    },
    {
      title: 'a stream where JSON was asked for: 502 upstream_bad_response',
      leaderStreams: false,
      headers: { 'x-sim-fault': 'sse-to-json' },
      code: 'upstream_bad_response',
      status: 502,
    },
  ];

  for (const fault of errorCases) {
    it(fault.title, async () => {
      const body = question(fault.title);
      const before = await stored();
      const outcomes = await burstOf(body, fault.leaderStreams, fault.headers);
      assertSameError(outcomes, fault.code, fault.status);
      if (!fault.instant) assertShared(outcomes);
      const right = simContent(body);
      for (const outcome of outcomes)
        assert.ok(right.startsWith(outcome.content), `only the right answer's first tokens: ${outcome.content}`);
      if (fault.partial) assert.ok(outcomes[0]!.content.length > 0, 'the streaming leader got the tokens sent before the fault');
      await assertNothingStored(body, before);
      await assertRecovered(body);
    });
  }

  it('refused connections: 502 upstream_unreachable for everyone, and the first request after the upstream is back succeeds', async () => {
    const body = question('refusal');
    const before = await stored();
    await env.proxy.refuse();
    try {
      const outcomes = await burstOf(body, true);
      assertSameError(outcomes, 'upstream_unreachable', 502);
      for (const outcome of outcomes) assert.match(outcome.message!, /ECONNREFUSED/);
      await assertNothingStored(body, before);
    } finally {
      await env.proxy.accept();
    }
    await assertRecovered(body);
  });

  it('the upstream going down with streams in flight: every stream ends with an error event, and it serves again once back', async () => {
    const body = question('an outage');
    const before = await stored();
    env.sim.config.tokenLatencyMs = 20;
    const burst = burstOf(body, true);
    await sleep(UPSTREAM_MS + 120); // the stream is some tokens in
    await env.proxy.refuse();
    const outcomes = await burst;
    env.sim.config.tokenLatencyMs = 2;
    assertSameError(outcomes, 'upstream_stream_interrupted', 502);
    assertShared(outcomes);
    await assertNothingStored(body, before);
    await env.proxy.accept();
    await assertRecovered(body);
  });

  it('a burst of 5xx: each failure passed on, never stored, and the first request after the burst is answered', async () => {
    const body = question('a burst');
    const before = await stored();
    env.sim.failNext(3, 'status:503');
    for (let i = 0; i < 3; i++) {
      const outcome = await outcomeOf(await post(body, {}));
      assert.equal(outcome.status, 503);
      assert.equal(outcome.code, '503');
    }
    await assertNothingStored(body, before);
    await assertRecovered(body);
  });

  it('a slow trickling stream: the right answer, the same for every follower, stored once complete', async () => {
    const body = question('a trickle');
    const outcomes = await burstOf(body, true, { 'x-proxy-fault': 'trickle:48:4' });
    for (const outcome of outcomes) {
      assert.equal(outcome.status, 200);
      assert.equal(outcome.code, undefined, JSON.stringify(outcome));
      assert.equal(outcome.content, simContent(body));
    }
    assertShared(outcomes);
    const id = entryIdOf(env.proxy.baseUrl, AUTH, body);
    for (let i = 0; i < 20 && !(await env.gateway.context.cache.entry(id)); i++) await sleep(25);
    assert.ok(await env.gateway.context.cache.entry(id), 'stored');
    assert.equal((await outcomeOf(await post(body))).cache, 'HIT');
  });

  it('the right answer labelled text/plain: served as JSON and stored', async () => {
    const body = question('a mislabelled answer');
    const outcomes = await burstOf(body, false, { 'x-sim-fault': 'json-as-text' });
    for (const outcome of outcomes) {
      assert.equal(outcome.status, 200);
      assert.equal(outcome.content, simContent(body));
    }
    assertShared(outcomes);
    const again = await outcomeOf(await post(body));
    assert.equal(again.cache, 'HIT');
    assert.equal(again.content, simContent(body));
  });

  it('no request waited on a lost upstream call, and nothing was logged as an internal error', () => {
    assert.equal(env.gateway.context.flights.size, 0, 'no exchange left in flight');
    const internal = env.logger.lines.filter((line) => line.level === 'error');
    assert.deepEqual(internal, []);
  });
});
