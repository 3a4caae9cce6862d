/**
 * `npm run eval:verified -- [--quick] [--embedder all|deterministic,random,model] [--embedding-model <dir>]
 *   [--dtype q8|fp32] [--random-spec tiny|minilm] [--pairs N] [--intent-queries N] [--orders N]
 *   [--revalidate-share 0.02] [--seed N] [--store-on-explore always|when-wrong] [--labels merged|per-pair]
 *   [--streams qqp,gptcache,intents] [--covariate similarity|distinctness] [--confidence 0.95]
 *   [--static 0.890,0.867]
 *   [--data-dir ../shared/data] [--data <pairs.jsonl>]`
 *
 * Does the verified semantic mode keep the share of wrong served hits within δ, and what
 * hit rate does it keep meanwhile? Labelled query streams are replayed through the real
 * decision code (VectorIndex, VerifiedDecision, ObservationBook), the judge being the labels
 * (a stored answer is right for a query when the two questions share a label), as vCache's
 * benchmark does; beside it, static thresholds and, for each δ, the static threshold one
 * would have picked in hindsight with the labels. Everything is offline and seeded; the
 * stream semantics are in ./evalVerified/replay.ts.
 *
 * Streams: QQP pairs (dev and test splits by a hash of the pair), GPTCache's paraphrase
 * pairs, and a synthetic stream of intents with paraphrases and near-misses. The QQP and
 * GPTCache files are read from --data-dir (qqp-dev.jsonl, gptcache-mock-pairs.jsonl);
 * --data <file> replaces the QQP file with any file of {"a","b","same"} pairs, e.g. the
 * 300 kept in the repository (test/fixtures/qqp-sample.jsonl), with --streams qqp,intents.
 * Embedders: a feature-hashing embedder defined here (deterministic), the random-weight
 * BERT the tests build, run through the real transformers.js worker (random), and any
 * local model directory (model).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Embedder, EmbeddingDtype } from '../src/core/embeddings/embedder';
import { WorkerEmbedder } from '../src/core/embeddings/workerEmbedder';
import { DEFAULT_VERIFIED } from '../src/core/semantic/decision/semanticDecision';
import { MINILM_L12_MULTILINGUAL, TINY_BERT, writeBertModel, type BertSpec } from '../test/fixtures/bertModel';
import { DELTAS, evaluateStream, onFineGrid, STATIC_THRESHOLDS, type StreamResult } from './evalVerified/evaluate';
import { HashEmbedder } from './evalVerified/hashEmbedder';
import { intentQueries } from './evalVerified/intents';
import { COVARIATES, DISTINCTNESS_RANK, type Covariate } from './evalVerified/replay';
import { markdownTable, overlapTable, staticTable, verifiedTable } from './evalVerified/report';
import { seedOf } from './evalVerified/seeded';
import {
  contradictions,
  prepare,
  queriesFromPairs,
  readPairs,
  splitOf,
  type Labelling,
  type Pair,
  type PreparedStream,
} from './evalVerified/streams';

const ROOT = resolve(__dirname, '..');
const EMBEDDERS = ['deterministic', 'random', 'model'] as const;
type EmbedderName = (typeof EMBEDDERS)[number];
const STREAMS = ['qqp', 'gptcache', 'intents'] as const;

interface Options {
  quick: boolean;
  orders: number;
  pairs: number;
  gptcachePairs: number | undefined;
  intentQueries: number;
  revalidateShare: number;
  storeOnExplore: 'always' | 'when-wrong';
  covariate: Covariate;
  /** How sure verified's test must be that a tail's chance of a wrong answer is below δ. */
  confidence: number;
  /** Static thresholds reported besides the usual ones (points of 0.700, 0.701, …, 0.999). */
  extraStatics: number[];
  labelling: Labelling;
  seed: number;
  embedders: EmbedderName[];
  model: string | undefined;
  dtype: EmbeddingDtype;
  randomSpec: 'tiny' | 'minilm';
  streams: Array<(typeof STREAMS)[number]>;
  dataDir: string;
  /** The pairs of the qqp stream: --data, else qqp-dev.jsonl in dataDir. */
  qqpFile: string;
}

const USAGE = `Usage: npm run eval:verified -- [--quick] [--embedder all|deterministic,random,model] [--embedding-model <dir>] [--dtype q8|fp32]
  [--random-spec tiny|minilm] [--pairs N] [--intent-queries N] [--orders N] [--revalidate-share 0.02] [--seed N]
  [--store-on-explore always|when-wrong] [--labels merged|per-pair] [--streams qqp,gptcache,intents] [--data-dir ../shared/data] [--data <pairs.jsonl>]
  [--covariate similarity|distinctness] [--confidence 0.95] [--static <thresholds, e.g. 0.890,0.867>]\n`;

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      orders: { type: 'string' },
      pairs: { type: 'string' },
      'intent-queries': { type: 'string' },
      'revalidate-share': { type: 'string' },
      'store-on-explore': { type: 'string' },
      covariate: { type: 'string' },
      confidence: { type: 'string' },
      static: { type: 'string' },
      labels: { type: 'string' },
      seed: { type: 'string' },
      embedder: { type: 'string' },
      'embedding-model': { type: 'string' },
      dtype: { type: 'string' },
      'random-spec': { type: 'string' },
      streams: { type: 'string' },
      'data-dir': { type: 'string' },
      data: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  const integer = (raw: string | undefined, fallback: number, name: string) => {
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
    return value;
  };
  const model = values['embedding-model'];
  const embedderList =
    values.embedder === 'all' ? [...EMBEDDERS] : (values.embedder?.split(',') ?? ['deterministic', 'random', ...(model ? ['model'] : [])]);
  for (const name of embedderList)
    if (!(EMBEDDERS as readonly string[]).includes(name))
      throw new Error(`unknown embedder ${name}: one of ${EMBEDDERS.join(', ')}, or all`);
  if (embedderList.includes('model') && !model) throw new Error('--embedder model needs --embedding-model <dir or id>');
  const streams = values.streams?.split(',') ?? [...STREAMS];
  for (const name of streams)
    if (!(STREAMS as readonly string[]).includes(name)) throw new Error(`unknown stream ${name}: one of ${STREAMS.join(', ')}`);
  const revalidateShare = Number(values['revalidate-share'] ?? 0.02);
  if (!(revalidateShare >= 0 && revalidateShare <= 1)) throw new Error('--revalidate-share must be in [0, 1]');
  const storeOnExplore = values['store-on-explore'] ?? 'always';
  if (storeOnExplore !== 'always' && storeOnExplore !== 'when-wrong') throw new Error('--store-on-explore is always or when-wrong');
  const covariate = values.covariate ?? 'similarity';
  if (!(COVARIATES as readonly string[]).includes(covariate)) throw new Error(`--covariate is ${COVARIATES.join(' or ')}`);
  const confidence = Number(values.confidence ?? DEFAULT_VERIFIED.confidence);
  if (!(confidence > 0 && confidence < 1)) throw new Error('--confidence must be in (0, 1)');
  const extraStatics = (values.static?.split(',') ?? []).map((raw) => {
    const threshold = Number(raw);
    if (!(threshold >= 0.7 && threshold <= 0.999)) throw new Error(`--static takes thresholds in [0.700, 0.999], got ${raw}`);
    return onFineGrid(threshold);
  });
  const labelling = values.labels ?? 'merged';
  if (labelling !== 'merged' && labelling !== 'per-pair') throw new Error('--labels is merged or per-pair');
  const randomSpec = values['random-spec'] ?? 'tiny';
  if (randomSpec !== 'tiny' && randomSpec !== 'minilm') throw new Error('--random-spec is tiny or minilm');
  const dataDir = resolve(values['data-dir'] ?? resolve(ROOT, '../shared/data'));
  const qqpFile = values.data === undefined ? join(dataDir, 'qqp-dev.jsonl') : resolve(values.data);
  const needsDataDir = streams.includes('gptcache') || (streams.includes('qqp') && values.data === undefined);
  const fail = (message: string): never => {
    process.stderr.write(`eval:verified: ${message}\n`);
    process.exit(1);
  };
  if (needsDataDir && !existsSync(dataDir)) {
    fail(
      `no data folder ${dataDir}: pass --data-dir <dir> holding qqp-dev.jsonl and gptcache-mock-pairs.jsonl (or --data <pairs.jsonl> --streams qqp,intents)`,
    );
  }
  const files = [
    ...(streams.includes('qqp') ? [qqpFile] : []),
    ...(streams.includes('gptcache') ? [join(dataDir, 'gptcache-mock-pairs.jsonl')] : []),
  ];
  for (const file of files) if (!existsSync(file)) fail(`no pairs file ${file}`);
  return {
    quick,
    orders: integer(values.orders, quick ? 3 : 20, 'orders'),
    pairs: integer(values.pairs, quick ? 300 : 2000, 'pairs'),
    gptcachePairs: quick ? 300 : undefined,
    intentQueries: integer(values['intent-queries'], quick ? 600 : 3000, 'intent-queries'),
    revalidateShare,
    storeOnExplore,
    covariate: covariate as Covariate,
    confidence,
    extraStatics,
    labelling,
    seed: integer(values.seed, 1, 'seed'),
    embedders: embedderList as EmbedderName[],
    model,
    dtype: (values.dtype ?? 'q8') as EmbeddingDtype,
    randomSpec,
    streams: streams as Options['streams'],
    dataDir,
    qqpFile,
  };
}

/** A data file as the report names it: rows and the start of its SHA-256. */
function describeFile(file: string): string {
  const content = readFileSync(file);
  const rows = content
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '').length;
  return `\`${basename(file)}\` (${rows.toLocaleString('en')} rows, sha256 ${createHash('sha256').update(content).digest('hex').slice(0, 12)})`;
}

/** A stream of labelled pairs; with merged labels, says how many non-duplicate pairs other pairs joined. */
function pairStream(name: string, description: string, pairs: Pair[], labelling: Labelling): PreparedStream {
  const queries = queriesFromPairs(pairs, labelling);
  const joined =
    labelling === 'merged' ? `; ${contradictions(pairs, queries)} non-duplicate pairs joined into one label by other pairs` : '';
  return prepare(name, `${description}${joined}`, queries);
}

function buildStreams(options: Options): { streams: PreparedStream[]; notes: string[] } {
  const streams: PreparedStream[] = [];
  const notes: string[] = [];
  notes.push(
    options.labelling === 'merged'
      ? 'pair labels merged: questions equal up to case and punctuation share one label, and duplicate pairs join labels transitively (the data repeat questions across pairs; per pair, one question would carry several labels and a hit between its copies would count as wrong)'
      : 'pair labels per pair, as vCache builds them: a fresh label for a, shared by b when the pair is a duplicate (a question repeated across pairs carries several labels)',
  );
  if (options.streams.includes('qqp')) {
    const file = options.qqpFile;
    const pairs = readPairs(file).slice(0, options.pairs);
    notes.push(
      `qqp: the first ${pairs.length.toLocaleString('en')} pairs of ${describeFile(file)}; a pair is test when FNV-1a(a + NUL + b) mod 3 = 2, else dev`,
    );
    for (const split of ['dev', 'test'] as const) {
      const chosen = pairs.filter((pair) => splitOf(pair) === split);
      const duplicates = chosen.filter((pair) => pair.same).length;
      streams.push(
        pairStream(
          `qqp-${split}`,
          `QQP, ${split} split: ${chosen.length.toLocaleString('en')} pairs (${duplicates.toLocaleString('en')} duplicates)`,
          chosen,
          options.labelling,
        ),
      );
    }
  }
  if (options.streams.includes('gptcache')) {
    const file = join(options.dataDir, 'gptcache-mock-pairs.jsonl');
    const pairs = readPairs(file).slice(0, options.gptcachePairs);
    notes.push(
      `gptcache: ${options.gptcachePairs ? `the first ${pairs.length} pairs of ` : ''}${describeFile(file)}, every pair a duplicate`,
    );
    streams.push(pairStream('gptcache', `GPTCache paraphrase pairs: ${pairs.length.toLocaleString('en')} pairs`, pairs, options.labelling));
  }
  if (options.streams.includes('intents')) {
    const seed = seedOf('intents', options.seed);
    const { queries, labels } = intentQueries(options.intentQueries, seed);
    notes.push(
      `intents: ${queries.length.toLocaleString('en')} queries drawn (seed ${seed}) with Zipf popularity 1/rank over ${labels.length} labels (40 topics × 15 intents, 21 labels a topic once slots are filled); orders are shuffles of this one multiset`,
    );
    streams.push(prepare('intents', `synthetic intents: ${queries.length.toLocaleString('en')} queries`, queries));
  }
  return { streams, notes };
}

interface LoadedEmbedder {
  name: EmbedderName;
  description: string;
  embedder: Embedder;
}

async function openEmbedder(name: EmbedderName, options: Options): Promise<LoadedEmbedder> {
  const threads = Math.max(1, Math.min(4, cpus().length - 1));
  switch (name) {
    case 'deterministic':
      return {
        name,
        description:
          'feature hashing of words, word pairs and character trigrams into 384 dimensions (scripts/evalVerified/hashEmbedder.ts)',
        embedder: new HashEmbedder(),
      };
    case 'random': {
      const spec: BertSpec = options.randomSpec === 'tiny' ? TINY_BERT : MINILM_L12_MULTILINGUAL;
      const dir = join(tmpdir(), 'deja-eval-models', `${options.randomSpec}-bert-random`);
      await writeBertModel(dir, spec, { fp32: true });
      const description = `random-weight BERT (${options.randomSpec === 'tiny' ? 'TINY_BERT' : 'MINILM_L12_MULTILINGUAL'}: ${spec.numLayers} layers, hidden ${spec.hiddenSize}, seed ${spec.seed}), fp32, through WorkerEmbedder`;
      return {
        name,
        description,
        embedder: new WorkerEmbedder({ model: dir, dtype: 'fp32', cacheDir: null, allowDownload: false, threads }),
      };
    }
    case 'model': {
      const model = options.model!;
      // A local directory never touches the network; a hub id may be fetched, as eval:semantic does.
      const local = existsSync(model);
      return {
        name,
        description: `${model} (${options.dtype}) through WorkerEmbedder`,
        embedder: new WorkerEmbedder({ model, dtype: options.dtype, cacheDir: null, allowDownload: !local, threads }),
      };
    }
  }
}

/** Embeds every distinct text of every stream once; the vectors serve every order and policy. */
async function embedAll(
  embedder: Embedder,
  texts: string[],
  log: (line: string) => void,
): Promise<{ vectors: Map<string, Float32Array | undefined>; dimension: number; seconds: number }> {
  const began = performance.now();
  const info = await embedder.load();
  const vectors = new Map<string, Float32Array | undefined>();
  const batch = 64;
  for (let i = 0; i < texts.length; i += batch) {
    const chunk = texts.slice(i, i + batch);
    const embedded = await embedder.embed(chunk);
    // Copies: the worker's vectors are views of one transferred buffer per batch.
    chunk.forEach((text, k) => vectors.set(text, embedded[k] ? Float32Array.from(embedded[k]!) : undefined));
    if ((i / batch) % 50 === 49) log(`  embedded ${Math.min(i + batch, texts.length)} of ${texts.length}`);
  }
  return { vectors, dimension: info.dimension, seconds: (performance.now() - began) / 1000 };
}

function commandLine(): string {
  return ['npx tsx scripts/evalVerified.ts', ...process.argv.slice(2)].join(' ');
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

function printHeader(options: Options, notes: string[], streams: PreparedStream[]): void {
  const out = (text: string) => process.stdout.write(text);
  out(`# Verified semantic decisions: labelled streams replayed through the real decision code\n\n`);
  out(
    `- Date: ${new Date().toISOString()}; Node ${process.version}; ${cpus().length} CPUs; commit ${gitCommit()} (plus the working tree)\n`,
  );
  out(`- Command: \`${commandLine()}\`${options.quick ? ' (quick: fewer orders, smaller sets)' : ''}\n`);
  out(
    `- Seed ${options.seed}: order k of a stream is a Fisher–Yates shuffle seeded with FNV-1a("<stream>#order<k>#${options.seed}"); the revalidation draws of order k are seeded alike ("<stream>#order<k>#revalidate"), the same for every δ\n`,
  );
  for (const note of notes) out(`- Data: ${note}\n`);
  out(
    `- Policies: verified (VerifiedDecision, floor ${DEFAULT_VERIFIED.floor}, confidence ${options.confidence}${options.confidence === DEFAULT_VERIFIED.confidence ? '' : ` (the gateway's is ${DEFAULT_VERIFIED.confidence})`}, a fresh ObservationBook per run) at δ ∈ {${DELTAS.join(', ')}}, with ${(options.revalidateShare * 100).toFixed(1)}% of served hits revalidated and ${options.storeOnExplore === 'always' ? 'every explored query stored' : "an explored query stored only when the stored answer was wrong (vCache's rule, not Deja's)"}; static thresholds ${[...STATIC_THRESHOLDS, ...options.extraStatics].join(', ')}; the hindsight-best static threshold per δ and order: the highest hit rate with wrong share ≤ δ among 0.700, 0.701, …, 0.999 (needs the labels; verified does not)${options.covariate === 'distinctness' ? `; verified reads the nearest question's distinctness against the ${DISTINCTNESS_RANK}th nearest (1 − d₁/d_${DISTINCTNESS_RANK}, d = 1 − similarity), not its similarity, and serves nothing while fewer than ${DISTINCTNESS_RANK + 1} questions are stored` : ''}\n`,
  );
  out(
    `- Judge: a served answer is right when the stored question and the new one share a label. Wrong share = wrong served hits / served semantic hits (0 when none served). Hit rate = served semantic hits / queries that reached the semantic level (exact repeats and texts the model cannot embed whole are counted apart).\n\n`,
  );
  out(
    markdownTable(
      ['stream', 'what', 'queries', 'distinct texts', 'labels', 'orders'],
      streams.map((s) => [
        s.name,
        s.description,
        s.queries.length.toLocaleString('en'),
        s.texts.length.toLocaleString('en'),
        s.labels.toLocaleString('en'),
        String(options.orders),
      ]),
    ),
  );
}

function printResult(stream: PreparedStream, embedder: LoadedEmbedder, result: StreamResult): void {
  const out = (text: string) => process.stdout.write(text);
  const split =
    stream.name === 'qqp-dev'
      ? ' (dev: the split the decision constants may be tuned on)'
      : stream.name === 'qqp-test'
        ? ' (test: held out, never tuned on)'
        : '';
  out(`\n## ${stream.name}${split} × ${embedder.name}\n\n`);
  out(
    `${stream.description}; per order: ${result.exact.toLocaleString('en')} exact repeats, ${result.unembedded.toLocaleString('en')} texts without a vector, ${result.semantic.toLocaleString('en')} queries at the semantic level.\n\n`,
  );
  out(
    `Overlap of the labels in this embedder's similarities (int8 scores, as the index reports them):\n\n${overlapTable(result.overlap)}\n`,
  );
  out(
    `Verified against the hindsight-best static threshold, ${result.verified.get(DELTAS[0])!.length} orders (one row per δ):\n\n${verifiedTable(result)}\n`,
  );
  out(`Static thresholds over the same orders:\n\n${staticTable(result)}\n`);
  out(
    result.check.mismatches.length === 0
      ? `Check: on order 1 the static sweep reproduces the real StaticDecision + VectorIndex replay at all ${result.check.compared} thresholds.\n`
      : `Check FAILED: the static sweep differs from the real replay on order 1: ${result.check.mismatches.join('; ')}\n`,
  );
  const { table, sweep, verified, check } = result.seconds;
  out(
    `Time: similarity table ${table.toFixed(1)} s, static sweep ${sweep.toFixed(1)} s, verified replays ${verified.toFixed(1)} s, check ${check.toFixed(1)} s.\n`,
  );
}

async function main(): Promise<void> {
  const began = performance.now();
  const options = parseOptions();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const { streams, notes } = buildStreams(options);
  printHeader(options, notes, streams);

  const allTexts = [...new Set(streams.flatMap((stream) => stream.texts))];
  const embedded = new Map<
    EmbedderName,
    { loaded: LoadedEmbedder; vectors: Map<string, Float32Array | undefined>; dimension: number; seconds: number }
  >();
  for (const name of options.embedders) {
    log(`embedding ${allTexts.length} texts with ${name}`);
    const loaded = await openEmbedder(name, options);
    try {
      embedded.set(name, { loaded, ...(await embedAll(loaded.embedder, allTexts, log)) });
    } finally {
      await loaded.embedder.close();
    }
  }
  process.stdout.write(
    `\n${markdownTable(
      ['embedder', 'what', 'dimension', 'texts embedded', 'texts without a vector', 'embedding time'],
      [...embedded.values()].map(({ loaded, vectors, dimension, seconds }) => [
        loaded.name,
        loaded.description,
        String(dimension),
        allTexts.length.toLocaleString('en'),
        [...vectors.values()].filter((vector) => !vector).length.toLocaleString('en'),
        `${seconds.toFixed(1)} s`,
      ]),
    )}`,
  );

  for (const stream of streams) {
    for (const { loaded, vectors, dimension } of embedded.values()) {
      const sectionBegan = performance.now();
      log(`${stream.name} × ${loaded.name}`);
      const result = evaluateStream(
        stream,
        stream.texts.map((text) => vectors.get(text)),
        dimension,
        options,
        (line) => log(`  ${line} (${Math.round((performance.now() - sectionBegan) / 1000)} s)`),
      );
      printResult(stream, loaded, result);
    }
  }
  process.stdout.write(`\nTotal time: ${((performance.now() - began) / 1000).toFixed(0)} s.\n`);
}

if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`eval:verified: ${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
