/**
 * The fuzzer's number campaign (issue 14): pairs of requests that differ only in one number,
 * written two ways that JavaScript's JSON.parse reads as the same double (`9007199254740993`
 * and `9007199254740992`, `0.1000000000000000000001` and `0.1`, `1e-400` and `0`), in a random
 * place (seed, max_tokens, a logit_bias value, a tool's schema, response_format, top_k), on
 * both cached completion endpoints, streamed or not. Through the real gateway (in this
 * process, semantic level on) in front of the simulated vLLM, each pair must make two misses
 * and two upstream calls, each body must reach the upstream with its digits, and each request
 * must then hit its own answer. Run by `npm run fuzz` after the hostile-input campaign, and
 * briefly by test/integration/fuzz.test.ts. Every pair is a pure function of (seed, index).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { isInexactNumber } from '../src/core/exactNumbers';
import { silentLogger } from '../src/core/logger';
import { DEFAULT_OPTIONS, type GatewayOptions } from '../src/core/options';
import { startGateway, type RunningGateway } from '../src/gateway/startGateway';
import { FakeEmbedder } from '../test/fixtures/fakeEmbedder';
import { losslessDifference, parseLossless } from '../test/fixtures/fuzz/losslessJson';
import { startPassThrough, type PassThrough } from '../test/fixtures/passThrough';
import { SimVllm } from '../test/fixtures/simVllm';

export interface NumberPair {
  endpoint: 'chat' | 'completions';
  place: string;
  stream: boolean;
  /** The two literals: different texts, the same double. */
  literals: [string, string];
  /** The body with `NUMBER` where the literal goes. */
  template: string;
}

const NUMBER = '"\u0000number\u0000"';
const MODEL = 'sim-llama-3-8b';
const PATHS = { chat: '/v1/chat/completions', completions: '/v1/completions' } as const;
const PROMPTS = ['What is a cache?', 'Explain TCP slow start.', 'hello', 'Why is the sky blue?'];

/** Another literal of the same double as an integer past 2^60 (the neighbours round to it: its ulp is 256 or more). */
function twinInteger(n: bigint): string {
  const value = Number(n);
  const exact = BigInt(value);
  return (exact !== n ? exact : n + 1n).toString();
}

/** Pairs of literals that JSON.parse cannot tell apart. */
const literals: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.constantFrom<[string, string]>(
    ['9007199254740993', '9007199254740992'],
    ['-9007199254740993', '-9007199254740992'],
    ['18446744073709551617', '18446744073709551616'],
    ['1e-400', '0'],
    ['-1e-400', '2e-400'],
    ['0.1000000000000000000001', '0.1'],
    ['0.7000000000000000000001', '0.70000000000000000000009'],
    // An integer JavaScript writes with an exponent (1e+30): Python reads that as a float of another value.
    ['1000000000000000000000000000000', '1e30'],
  ),
  fc.bigInt({ min: 2n ** 60n, max: 10n ** 30n }).map((n): [string, string] => [n.toString(), twinInteger(n)]),
  fc.bigInt({ min: 2n ** 60n, max: 10n ** 30n }).map((n): [string, string] => [`-${n}`, `-${twinInteger(n)}`]),
  // A double's own text, and the same with a far digit added: 0.123 and 0.1230000000000000000000007.
  fc.tuple(fc.double({ min: 1e-6, max: 1e6, noNaN: true }), fc.integer({ min: 1, max: 9 })).map(([value, digit]): [string, string] => {
    const text = String(value);
    const longer = `${text}${text.includes('.') ? '' : '.'}0000000000000000000000${digit}`;
    return Number(longer) === value ? [longer, text] : ['9007199254740995', '9007199254740996'];
  }),
);

/** Where the number goes; `accepts` keeps out values that would not give a complete (storable) answer. */
const PLACES: Record<string, { endpoints: Array<NumberPair['endpoint']>; json: string; accepts?: (value: number) => boolean }> = {
  seed: { endpoints: ['chat', 'completions'], json: `"seed":${NUMBER}` },
  // A small max_tokens truncates the answer, and a truncated answer is never stored.
  max_tokens: { endpoints: ['chat', 'completions'], json: `"max_tokens":${NUMBER}`, accepts: (value) => value >= 1e6 },
  top_k: { endpoints: ['chat', 'completions'], json: `"top_k":${NUMBER}` },
  logit_bias: { endpoints: ['chat', 'completions'], json: `"logit_bias":{"50256":${NUMBER},"13":-1}` },
  tools: {
    endpoints: ['chat'],
    json: `"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{"n":{"type":"integer","maximum":${NUMBER}}}}}}]`,
  },
  response_format: {
    endpoints: ['chat'],
    json: `"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"array","items":[1,{"minimum":${NUMBER}}]}}}`,
  },
};

export const numberPairArbitrary: fc.Arbitrary<NumberPair> = fc
  .record({
    place: fc.constantFrom(...Object.keys(PLACES)),
    completions: fc.boolean(),
    stream: fc.boolean(),
    literals,
    prompt: fc.constantFrom(...PROMPTS),
    fieldFirst: fc.boolean(),
  })
  .filter(({ place, literals: pair }) => PLACES[place]!.accepts?.(Number(pair[0])) ?? true)
  .map(({ place, completions, stream, literals: pair, prompt, fieldFirst }) => {
    const spec = PLACES[place]!;
    const endpoint = completions && spec.endpoints.includes('completions') ? 'completions' : 'chat';
    const question =
      endpoint === 'chat' ? `"messages":[{"role":"user","content":${JSON.stringify(prompt)}}]` : `"prompt":${JSON.stringify(prompt)}`;
    const fields = fieldFirst ? [spec.json, `"model":"${MODEL}"`, question] : [`"model":"${MODEL}"`, question, spec.json];
    if (stream) fields.push('"stream":true');
    return { endpoint, place, stream, literals: pair, template: `{${fields.join(',')},"stop":["CASE"]}` };
  });

/** Pair `index` of a campaign seeded with `seed`. */
export function numberPair(seed: number, index: number): NumberPair {
  return fc.sample(numberPairArbitrary, { seed: (seed ^ Math.imul(index + 1, 0x85ebca6b)) | 0, numRuns: 1 })[0]!;
}

/** The body of one side of a pair: the literal in its place, and a stop string unique to the case (no two cases share a key or a partition). */
function bodyOf(pair: NumberPair, side: 0 | 1, caseTag: string): string {
  return pair.template.replace(NUMBER, pair.literals[side]).replace('"CASE"', JSON.stringify(caseTag));
}

export interface NumberReport {
  seed: number;
  pairs: number;
  /** Requests sent, and upstream calls seen. */
  requests: number;
  upstreamCalls: number;
  failures: Array<{ index: number; pair: string; problem: string }>;
  durationMs: number;
}

/** A proxy in front of the simulator that keeps each body it forwards, by the case header. */
async function recordingProxy(target: string): Promise<PassThrough & { bodies: Map<string, string[]> }> {
  const bodies = new Map<string, string[]>();
  const proxy = await startPassThrough(target, (req, body) => {
    const tag = req.headers['x-fuzz-pair'];
    if (typeof tag === 'string') bodies.set(tag, [...(bodies.get(tag) ?? []), body.toString('utf8')]);
  });
  return { ...proxy, bodies };
}

/** The answer's id (the simulator draws one per call), from a JSON body or the first event of a stream. */
async function answerId(res: Response): Promise<string | undefined> {
  const text = await res.text();
  try {
    if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      const first = text.split('\n').find((line) => line.startsWith('data: {'));
      return first ? (JSON.parse(first.slice(6)) as { id?: string }).id : undefined;
    }
    return (JSON.parse(text) as { id?: string }).id;
  } catch {
    return undefined;
  }
}

/** Whether a JSON text holds `literal` as a number token (not inside a longer one). */
function holdsLiteral(text: string, literal: string): boolean {
  const escaped = literal.replace(/[.+-]/g, (c) => `\\${c}`);
  return new RegExp(`[:,\\[]${escaped}[,}\\]]`).test(text);
}

export async function runNumberCampaign(options: {
  seed: number;
  pairs: number;
  only?: number[];
  log?: (line: string) => void;
}): Promise<NumberReport> {
  const started = Date.now();
  const report: NumberReport = { seed: options.seed, pairs: 0, requests: 0, upstreamCalls: 0, failures: [], durationMs: 0 };
  const sim = new SimVllm();
  const proxy = await recordingProxy(await sim.start());
  const dataDir = await mkdtemp(join(tmpdir(), 'deja-fuzz-numbers-'));
  let gateway: RunningGateway | undefined;
  try {
    const gatewayOptions: GatewayOptions = {
      ...DEFAULT_OPTIONS,
      port: 0,
      dataDir,
      upstream: proxy.url,
      logLevel: 'error',
      // Static mode serves any question of the same partition above the threshold: a partition
      // shared by two numbers would show as a semantic hit.
      semantic: true,
      semanticMode: 'static',
      semanticThreshold: 0.9,
      revalidateShare: 0,
      vllmMetricsIntervalMs: 0,
    };
    gateway = await startGateway(gatewayOptions, { logger: silentLogger, embedder: new FakeEmbedder() });
    const running = gateway;
    const settle = async () => {
      for (let i = 0; i < 400 && running.context.flights.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    const indexes = options.only ?? Array.from({ length: options.pairs }, (_, i) => i);
    for (const index of indexes) {
      const pair = numberPair(options.seed, index);
      const label = `${pair.endpoint} ${pair.place} ${pair.literals[0]} / ${pair.literals[1]}${pair.stream ? ' (stream)' : ''}`;
      const fail = (problem: string) => report.failures.push({ index, pair: label, problem });
      report.pairs++;
      const tag = `${options.seed}-${index}`;
      const send = (side: 0 | 1) => {
        report.requests++;
        return fetch(`${running.url}${PATHS[pair.endpoint]}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer sk-fuzz', 'x-fuzz-pair': `${tag}/${side}` },
          body: bodyOf(pair, side, tag),
        });
      };
      const ids: Array<string | undefined> = [];
      for (const side of [0, 1] as const) {
        const res = await send(side);
        const outcome = res.headers.get('x-deja-cache');
        const id = await answerId(res);
        ids.push(id);
        if (res.status !== 200 || outcome !== 'MISS')
          fail(
            `side ${side}: ${res.status} ${outcome}${res.headers.get('x-deja-reason') ? ` (${res.headers.get('x-deja-reason')})` : ''} where a miss was due`,
          );
        await settle();
        const forwarded = proxy.bodies.get(`${tag}/${side}`) ?? [];
        report.upstreamCalls += forwarded.length;
        if (forwarded.length !== 1) fail(`side ${side}: ${forwarded.length} upstream calls where one was due`);
        else {
          // What a reader that keeps integers exact (Python) reads must not change; and a literal a
          // double does not keep must arrive as written (a double's own text may be written again: 1e30 as 1e+30).
          const literal = pair.literals[side];
          const difference = losslessDifference(
            parseLossless(bodyOf(pair, side, tag)),
            parseLossless(forwarded[0]!),
            '',
            new Set(['stream_options']),
          );
          if (difference) fail(`side ${side}: the upstream got a different body at ${difference}`);
          if (isInexactNumber(literal) && !holdsLiteral(forwarded[0]!, literal))
            fail(`side ${side}: the upstream did not get ${literal}: ${forwarded[0]!.slice(0, 300)}`);
        }
      }
      if (ids[0] === undefined || ids[0] === ids[1]) fail(`both sides got the answer ${ids[0]}`);
      for (const side of [0, 1] as const) {
        const res = await send(side);
        const outcome = res.headers.get('x-deja-cache');
        const id = await answerId(res);
        if (outcome !== 'HIT' || id !== ids[side])
          fail(`side ${side} again: ${outcome} with ${id}, where a hit with its own answer ${ids[side]} was due`);
      }
      if (report.pairs % 50 === 0) options.log?.(`  ${report.pairs} / ${indexes.length} pairs, ${report.failures.length} problems`);
    }
  } finally {
    await gateway?.close().catch(() => {});
    await proxy.close();
    await sim.stop();
    await rm(dataDir, { recursive: true, force: true });
    report.durationMs = Date.now() - started;
  }
  return report;
}

export function formatNumberReport(report: NumberReport, maxFailures = 40): string {
  const lines = [
    `number pairs (seed ${report.seed}): ${report.pairs} pairs, ${report.requests} requests, ${report.upstreamCalls} upstream calls, in ${(report.durationMs / 1000).toFixed(1)} s`,
    `problems: ${report.failures.length}`,
  ];
  for (const failure of report.failures.slice(0, maxFailures)) lines.push(`  pair ${failure.index} [${failure.pair}]: ${failure.problem}`);
  if (report.failures.length > maxFailures) lines.push(`  … ${report.failures.length - maxFailures} more`);
  lines.push(report.failures.length === 0 ? 'RESULT: PASS' : 'RESULT: FAIL');
  if (report.failures.length) lines.push(`replay: npm run fuzz -- --seed ${report.seed} --pairs ${report.pairs}   (one pair: --pair <n>)`);
  return lines.join('\n');
}
