/**
 * `npm run eval:verified:gateway -- [--queries 800] [--orders 3] [--judges exact,embedding,llm]
 *   [--modes static,verified] [--embedding-model <dir>] [--dtype q8|fp32] [--seed N]`
 *
 * The verified mode as a user meets it: the built CLI (`dist/cli.js serve`) in its own process,
 * a real embedding model loaded by the worker (by default the random-weight BERT the tests
 * build, the poorest embedder there is), and an upstream on loopback that answers like a model
 * that understood the question: every paraphrase of one intent gets that intent's answer. The
 * synthetic intents stream (40 topics, paraphrases and near-misses, scripts/evalVerified/
 * intents.ts) is sent one question at a time, through HTTP, waiting for the gateway to settle
 * (the answer stored and embedded, an exploration judged) before the next, as a person typing
 * would. A served semantic hit is wrong when the answer it carries is another intent's.
 *
 * The three judges are the gateway's own: exact (the answers' text), embedding (the answers'
 * embeddings, by the same model) and llm (the upstream asked whether the two answers agree; this
 * upstream answers that truthfully, as a capable model would).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ADMIN_TOKEN_FILE, type StatsDto } from '../src/shared/protocol';
import { TINY_BERT, writeBertModel } from '../test/fixtures/bertModel';
import { spawnGateway } from '../test/fixtures/gatewayProcess';
import { intentQueries, type IntentLabel } from './evalVerified/intents';
import { markdownTable } from './evalVerified/report';
import { seededRandom } from '../test/fixtures/seededRandom';
import { permutation, seedOf } from './evalVerified/seeded';
import type { Query } from './evalVerified/streams';

const JUDGES = ['exact', 'embedding', 'llm'] as const;
const MODES = ['static', 'verified'] as const;
type Judge = (typeof JUDGES)[number];
type Mode = (typeof MODES)[number];

interface Options {
  queries: number;
  orders: number;
  judges: Judge[];
  modes: Mode[];
  model: string | undefined;
  dtype: 'q8' | 'fp32';
  seed: number;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      queries: { type: 'string' },
      orders: { type: 'string' },
      judges: { type: 'string' },
      modes: { type: 'string' },
      'embedding-model': { type: 'string' },
      dtype: { type: 'string' },
      seed: { type: 'string' },
    },
  });
  const positive = (raw: string | undefined, fallback: number, name: string) => {
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
    return value;
  };
  const listOf = <T extends string>(raw: string | undefined, allowed: readonly T[], name: string): T[] => {
    const list = raw?.split(',') ?? [...allowed];
    for (const item of list)
      if (!(allowed as readonly string[]).includes(item)) throw new Error(`--${name}: unknown ${item} (one of ${allowed.join(', ')})`);
    return list as T[];
  };
  const dtype = values.dtype ?? 'fp32';
  if (dtype !== 'q8' && dtype !== 'fp32') throw new Error('--dtype is q8 or fp32');
  return {
    queries: positive(values.queries, 800, 'queries'),
    orders: positive(values.orders, 3, 'orders'),
    judges: listOf(values.judges, JUDGES, 'judges'),
    modes: listOf(values.modes, MODES, 'modes'),
    model: values['embedding-model'],
    dtype,
    seed: positive(values.seed, 1, 'seed'),
  };
}

/** What the upstream answers an intent: the same text for every paraphrase, tagged with the intent. */
function answerOf(label: IntentLabel, id: number): string {
  const [topic, intent, slot] = label.name.split('|');
  return `[intent ${id}] About ${topic}, ${intent!.replace(/-/g, ' ')}${slot ? ` (${slot})` : ''}: here are the steps, in order, with the commands to run and what to check afterwards.`;
}

const intentOf = (answer: string): number | undefined => {
  const match = /^\[intent (\d+)\]/.exec(answer);
  return match ? Number(match[1]) : undefined;
};

/** An upstream that answers by intent, and answers the llm judge truthfully. */
async function startLabelUpstream(
  labelOf: Map<string, number>,
  labels: IntentLabel[],
): Promise<{ url: string; close: () => Promise<void>; calls: () => number }> {
  let calls = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url !== '/v1/chat/completions') {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { message: 'not here', type: 'not_found', code: null } }));
        return;
      }
      calls++;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        model: string;
        messages: Array<{ role: string; content: string }>;
      };
      const asked = body.messages.at(-1)?.content ?? '';
      let content: string;
      const judged = /Answer A:\n([\s\S]*?)\n\nAnswer B:\n([\s\S]*?)\n\nDo A and B give the same answer/.exec(asked);
      if (judged) content = intentOf(judged[1]!) !== undefined && intentOf(judged[1]!) === intentOf(judged[2]!) ? 'Yes' : 'No';
      else {
        const label = labelOf.get(asked);
        content = label === undefined ? 'I do not know that question.' : answerOf(labels[label]!, label);
      }
      const reply = {
        id: `cmpl-${calls}`,
        object: 'chat.completion',
        created: 0,
        model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 20, completion_tokens: 20, total_tokens: 40 },
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1`, calls: () => calls, close: () => new Promise((done) => server.close(() => done())) };
}

interface Gateway {
  url: string;
  admin: <T>(path: string) => Promise<T>;
  stop: () => Promise<void>;
}

/** `deja serve` from dist/, as a user starts it, in its own data directory. */
async function startGateway(upstream: string, dataDir: string, model: string, dtype: string, mode: Mode, judge: Judge): Promise<Gateway> {
  const args = ['--log-level', 'warn', '--embedding-model', model, '--embedding-dtype', dtype, '--embedding-download', 'off'];
  args.push('--semantic-mode', mode, '--answer-judge', judge, '--vllm-metrics-interval', '3600');
  const child = await spawnGateway({ upstream, dataDir, args });
  const token = (await readFile(join(dataDir, ADMIN_TOKEN_FILE), 'utf8')).trim();
  const admin = async <T>(path: string): Promise<T> =>
    (await (await fetch(`${child.url}/deja/v1${path}`, { headers: { authorization: `Bearer ${token}` } })).json()) as T;
  return { url: child.url, admin, stop: async () => void (await child.stop()) };
}

/**
 * Waits until every stored answer has its vector (up to 5 s), then until every exploration is
 * judged (up to 300 ms more: a judge that gives no verdict records nothing, so the count may
 * never catch up).
 */
async function settle(gateway: Gateway, explored: number): Promise<StatsDto> {
  const stats = () => gateway.admin<StatsDto>('/stats?window=1h');
  const observed = (figures: StatsDto) => figures.semantic.learned.reduce((sum, group) => sum + group.observations, 0);
  let figures = await stats();
  for (let i = 0; i < 500 && (figures.cache.vectors !== figures.cache.entries || figures.semantic.state !== 'ready'); i++) {
    await new Promise((done) => setTimeout(done, 10));
    figures = await stats();
  }
  for (let i = 0; i < 30 && observed(figures) < explored; i++) {
    await new Promise((done) => setTimeout(done, 10));
    figures = await stats();
  }
  return figures;
}

interface Run {
  mode: Mode;
  judge: Judge;
  order: number;
  queries: number;
  exact: number;
  semantic: number;
  wrong: number;
  explorations: number;
  observations: number;
  observedWrong: number;
  servedFrom: number | null;
  seconds: number;
}

async function runOne(
  queries: Query[],
  labels: IntentLabel[],
  model: string,
  dtype: string,
  mode: Mode,
  judge: Judge,
  order: number,
): Promise<Run> {
  const began = performance.now();
  const labelOf = new Map(queries.map((query) => [query.text, query.label]));
  const upstream = await startLabelUpstream(labelOf, labels);
  const dataDir = await mkdtemp(join(tmpdir(), 'deja-eval-gateway-'));
  const gateway = await startGateway(upstream.url, dataDir, model, dtype, mode, judge);
  const run: Run = {
    mode,
    judge,
    order,
    queries: queries.length,
    exact: 0,
    semantic: 0,
    wrong: 0,
    explorations: 0,
    observations: 0,
    observedWrong: 0,
    servedFrom: null,
    seconds: 0,
  };
  try {
    await settle(gateway, 0);
    for (const query of queries) {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'label-model', temperature: 0, messages: [{ role: 'user', content: query.text }] }),
      });
      const body = (await response.json()) as { choices?: Array<{ message: { content: string } }> };
      const cache = response.headers.get('x-deja-cache');
      if (cache === 'HIT') run.exact++;
      if (cache === 'SEMANTIC_HIT') {
        run.semantic++;
        if (intentOf(body.choices?.[0]?.message.content ?? '') !== query.label) run.wrong++;
      }
      if (response.headers.get('x-deja-decision') === 'explore') run.explorations++;
      await settle(gateway, run.explorations);
    }
    const stats = await settle(gateway, run.explorations);
    const learned = stats.semantic.learned.find((group) => group.endpoint === 'chat.completions');
    run.observations = learned?.observations ?? 0;
    run.observedWrong = learned?.wrong ?? 0;
    run.servedFrom = learned?.servedFrom ?? null;
  } finally {
    await gateway.stop();
    await upstream.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  run.seconds = (performance.now() - began) / 1000;
  return run;
}

async function main(): Promise<void> {
  const options = parseOptions();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let model = options.model;
  if (!model) {
    model = join(tmpdir(), 'deja-eval-models', 'tiny-bert-random');
    await writeBertModel(model, TINY_BERT, { fp32: true });
  }
  const { queries, labels } = intentQueries(options.queries, seedOf('intents', options.seed));
  const runs: Run[] = [];
  for (let order = 0; order < options.orders; order++) {
    const ordered = permutation(queries.length, seededRandom(seedOf(`gateway#order${order}`, options.seed))).map((i) => queries[i]!);
    for (const mode of options.modes) {
      for (const judge of mode === 'static' ? ['exact' as const] : options.judges) {
        log(`order ${order + 1}: ${mode}${mode === 'verified' ? `, ${judge} judge` : ''}`);
        runs.push(await runOne(ordered, labels, model, options.dtype, mode, judge, order));
      }
    }
  }
  const out = (text: string) => process.stdout.write(text);
  out(`# Verified semantic hits through the gateway\n\n`);
  out(`- Date: ${new Date().toISOString()}; Node ${process.version}\n`);
  out(`- Command: \`npx tsx scripts/evalVerifiedGateway.ts ${process.argv.slice(2).join(' ')}\`\n`);
  out(
    `- Model: ${options.model ?? 'the random-weight TINY_BERT the tests build'} (${options.dtype}), loaded by \`deja serve\`; ${options.queries} intents questions (${new Set(queries.map((q) => q.label)).size} intents over 40 topics), ${options.orders} shuffled orders; static is the default threshold (0.95), verified δ = 2%\n\n`,
  );
  out(
    markdownTable(
      ['mode', 'judge', 'order', 'exact hits', 'semantic hits', 'wrong', 'explorations', 'observations (wrong)', 'served from', 'time'],
      runs.map((run) => [
        run.mode,
        run.mode === 'static' ? '—' : run.judge,
        String(run.order + 1),
        String(run.exact),
        String(run.semantic),
        run.semantic === 0 ? '0' : `${run.wrong} (${((100 * run.wrong) / run.semantic).toFixed(1)}%)`,
        String(run.explorations),
        run.mode === 'static' ? '—' : `${run.observations} (${run.observedWrong})`,
        run.servedFrom === null ? (run.mode === 'static' ? '0.95' : 'not yet') : run.servedFrom.toFixed(4),
        `${run.seconds.toFixed(0)} s`,
      ]),
    ),
  );
}

main().catch((error: Error) => {
  process.stderr.write(`eval:verified:gateway: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
