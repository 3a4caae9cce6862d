/**
 * The semantic level at scale: lookup, insert while lookups go on, cold open and
 * disk size at 10k and 100k entries of 384 dimensions, for the SQLite vector
 * table (the default) and vectra (the option); then vectra used naively as its
 * README shows, for reference; then the embedding model's own speed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import type { Embedder, EmbedderInfo } from '../src/core/embeddings/embedder';
import { WorkerEmbedder } from '../src/core/embeddings/workerEmbedder';
import { MINILM_L12_MULTILINGUAL, writeBertModel } from '../test/fixtures/bertModel';
import { silentLogger } from '../src/core/logger';
import { SemanticCache } from '../src/core/semantic/semanticCache';
import type { ExactStore } from '../src/core/stores/exactStore';
import { MemoryExactStore } from '../src/core/stores/memoryExactStore';
import { MemoryVectorStore } from '../src/core/stores/memoryVectorStore';
import { SqliteVectorStore } from '../src/core/stores/sqliteVectorStore';
import type { VectorStore } from '../src/core/stores/vectorStore';
import { VectraVectorStore } from '../src/core/stores/vectraVectorStore';
import { fmt, percentile } from './lib';

const DIMENSION = 384;

export interface Row {
  measure: string;
  result: string;
  target: string;
}

/** Deterministic vectors shaped like sentence embeddings: a shared direction plus noise. */
class VectorSource {
  private seed = 12345;
  private readonly bias: Float32Array;
  constructor() {
    this.bias = new Float32Array(DIMENSION).map(() => this.gauss() * 0.05);
  }
  /** Uniform in [0, 1). */
  random(): number {
    this.seed = (this.seed + 0x6d2b79f5) | 0;
    let t = Math.imul(this.seed ^ (this.seed >>> 15), 1 | this.seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  gauss(): number {
    return Math.sqrt(-2 * Math.log(this.random() + 1e-12)) * Math.cos(2 * Math.PI * this.random());
  }
  vector(): Float32Array {
    return normalize(new Float32Array(DIMENSION).map((_, i) => this.gauss() / Math.sqrt(DIMENSION) + this.bias[i]!));
  }
  /** A paraphrase: the same vector moved a little (cosine about 0.93). */
  near(vector: Float32Array): Float32Array {
    return normalize(vector.map((x) => x + (this.gauss() * 0.4) / Math.sqrt(DIMENSION)));
  }
  index(n: number): number {
    return Math.floor(this.random() * n);
  }
}

function normalize(vector: Float32Array): Float32Array {
  const norm = Math.hypot(...vector);
  return vector.map((x) => x / norm);
}

/** An embedder that answers from a table: the benchmark measures the index, not a model. */
class TableEmbedder implements Embedder {
  readonly table = new Map<string, Float32Array>();
  async load(): Promise<EmbedderInfo> {
    return { model: 'table', dimension: DIMENSION, maxTokens: 512 };
  }
  async embed(texts: string[]): Promise<Array<Float32Array | undefined>> {
    return texts.map((text) => this.table.get(text));
  }
  async close(): Promise<void> {}
}

/** The exact store's side of the consistency check: every vector's entry exists. */
function exactStoreWithIds(count: number): ExactStore {
  const store = new MemoryExactStore();
  const ids = new Set(Array.from({ length: count }, (_, i) => `e${i}`));
  return Object.assign(store, { ids: async () => ids });
}

async function openSemantic(openStore: () => Promise<VectorStore>, embedder: TableEmbedder, entries: number): Promise<SemanticCache> {
  const semantic = new SemanticCache({
    embedder,
    openStore,
    exact: exactStoreWithIds(entries),
    logger: silentLogger,
    model: 'table',
    space: 'table',
    threshold: 0.9,
  });
  await semantic.start();
  return semantic;
}

async function measureStore(kind: 'sqlite' | 'vectra', entries: number, dir: string): Promise<Row[]> {
  const source = new VectorSource();
  const embedder = new TableEmbedder();
  const file = join(dir, `${kind}-${entries}`);
  const openStore = () => (kind === 'sqlite' ? SqliteVectorStore.open(`${file}.sqlite`) : VectraVectorStore.open(file));
  const semantic = await openSemantic(openStore, embedder, entries);
  // All in one partition: the worst case (one system prompt, one model, single-turn questions).
  const partition = 'one-context';
  const vectors: Float32Array[] = [];
  for (let i = 0; i < entries; i++) vectors.push(source.vector());

  // Insert every vector while lookups run alongside, as a busy gateway would.
  const lookupTimes: number[] = [];
  let inserting = true;
  const lookups = (async () => {
    let n = 0;
    while (inserting) {
      const text = `during ${n++}`;
      embedder.table.set(text, source.near(vectors[source.index(Math.max(1, vectors.length))]!));
      const start = performance.now();
      await semantic.lookup({ text, partition });
      lookupTimes.push(performance.now() - start);
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const began = performance.now();
  for (let i = 0; i < entries; i++) {
    semantic.remember(`e${i}`, partition, vectors[i]!);
    if (i % 256 === 255) await new Promise((resolve) => setImmediate(resolve));
  }
  await semantic.flush();
  const insertMs = (performance.now() - began) / entries;
  inserting = false;
  await lookups;

  // Lookups on the full index: paraphrases of stored questions.
  const times: number[] = [];
  let found = 0;
  const rounds = 300;
  for (let q = 0; q < rounds; q++) {
    const target = source.index(entries);
    const text = `query ${q}`;
    embedder.table.set(text, source.near(vectors[target]!));
    const start = performance.now();
    const result = await semantic.lookup({ text, partition });
    times.push(performance.now() - start);
    if (result?.nearest?.id === `e${target}`) found++;
  }
  const store = await openStore();
  const disk = await store.diskBytes();
  await store.close();
  await semantic.close();

  // Cold open: a fresh process-like start on the files just written.
  const coldBegan = performance.now();
  const reopened = await openSemantic(openStore, embedder, entries);
  const coldMs = performance.now() - coldBegan;
  const loaded = reopened.status().entries;
  await reopened.close();

  const label = `${kind === 'sqlite' ? 'SQLite log + snapshot (default)' : 'vectra files (option)'}, ${entries.toLocaleString('en')} entries`;
  return [
    {
      measure: `${label}: lookup p50 / p99 (after the embedding)`,
      result: `${fmt(percentile(times, 50))} / ${fmt(percentile(times, 99))}; recall@1 of paraphrases ${((found / rounds) * 100).toFixed(1)}%`,
      target: '≤ 5 ms p50 at 100k',
    },
    {
      measure: `${label}: insert, amortized, with lookups going on`,
      result: `${fmt(insertMs)} per entry (lookups meanwhile: p50 ${fmt(percentile(lookupTimes, 50))}, ${lookupTimes.length} done)`,
      target: '≤ 2 ms at 100k',
    },
    { measure: `${label}: cold open`, result: `${fmt(coldMs)} (${loaded} vectors)`, target: '≤ 1 s at 100k' },
    {
      measure: `${label}: vectors on disk`,
      result: `${(disk / entries).toFixed(0)} bytes per entry (${(disk / 1024 / 1024).toFixed(1)} MB)`,
      target: '≤ 2 KB per entry',
    },
  ];
}

/**
 * What the verified decision adds to a lookup: at `entries` entries in one partition, each with a
 * few observations learned (so its group has a threshold and the entry its own wrong answers), a
 * paraphrase's lookup followed by the decision, against the same lookup followed by the static
 * threshold's, interleaved; then the decision alone, and the decision right after a new
 * observation (the group's threshold read again from its histogram).
 */
async function measureDecision(entries: number, rounds: number): Promise<Row[]> {
  const source = new VectorSource();
  const embedder = new TableEmbedder();
  const open = (mode: 'verified' | 'static') =>
    new SemanticCache({
      embedder,
      openStore: async () => new MemoryVectorStore(),
      exact: exactStoreWithIds(entries),
      logger: silentLogger,
      model: 'table',
      space: 'table',
      threshold: 0.9,
      mode,
      maxFalseHitRate: 0.02,
    });
  const verified = open('verified');
  const fixed = open('static');
  await verified.start();
  await fixed.start();
  const partition = 'one-context';
  const vectors = Array.from({ length: entries }, () => source.vector());
  for (let i = 0; i < entries; i++) {
    verified.remember(`e${i}`, partition, vectors[i]!);
    fixed.remember(`e${i}`, partition, vectors[i]!);
    // A few observations an entry's explorations would have left: right above ~0.9, wrong below.
    for (let k = 0; k < 1 + (i % 8); k++) {
      const similarity = 0.7 + 0.3 * source.random();
      verified.observe(`e${i}`, 'chat.completions', { similarity, correct: similarity > 0.88 + 0.04 * source.random(), at: k });
    }
    if (i % 1024 === 1023) await new Promise((resolve) => setImmediate(resolve));
  }
  const decide = async (semantic: SemanticCache, text: string) => {
    const start = performance.now();
    const found = await semantic.lookup({ text, partition });
    const nearest = found?.nearest;
    if (nearest) semantic.decide({ entryId: nearest.id, similarity: nearest.score, endpoint: 'chat.completions' });
    return performance.now() - start;
  };
  const decisionOnly: number[] = [];
  const decisionRecomputed: number[] = [];
  const withVerified: number[] = [];
  const withStatic: number[] = [];
  for (let q = 0; q < rounds + 50; q++) {
    const text = `query ${q}`;
    const target = source.index(entries);
    embedder.table.set(text, source.near(vectors[target]!));
    const first = q % 2 === 0;
    const a = await decide(first ? verified : fixed, text);
    const b = await decide(first ? fixed : verified, text);
    let start = performance.now();
    verified.decide({ entryId: `e${source.index(entries)}`, similarity: 0.93, endpoint: 'chat.completions' });
    const alone = performance.now() - start;
    const similarity = 0.7 + 0.3 * source.random();
    verified.observe(`e${source.index(entries)}`, 'chat.completions', { similarity, correct: similarity > 0.9, at: q });
    start = performance.now();
    verified.decide({ entryId: `e${source.index(entries)}`, similarity: 0.93, endpoint: 'chat.completions' });
    const afterObservation = performance.now() - start;
    // The first rounds warm the code.
    if (q < 50) continue;
    (first ? withVerified : withStatic).push(a);
    (first ? withStatic : withVerified).push(b);
    decisionOnly.push(alone);
    decisionRecomputed.push(afterObservation);
  }
  await verified.close();
  await fixed.close();
  return [
    {
      measure: `verified decision, ${entries.toLocaleString('en')} entries with 1 to 8 observations each: lookup + decision p50 (verified / static), and the decision alone`,
      result: `${fmt(percentile(withVerified, 50))} / ${fmt(percentile(withStatic, 50))} (${fmt(percentile(withVerified, 50) - percentile(withStatic, 50))} more); the decision alone p50 ${fmt(percentile(decisionOnly, 50))}, p99 ${fmt(percentile(decisionOnly, 99))}; right after an observation p50 ${fmt(percentile(decisionRecomputed, 50))}, p99 ${fmt(percentile(decisionRecomputed, 99))}`,
      target: '≤ +0.1 ms p50 at 100k',
    },
  ];
}

/** vectra as its README shows it: one upsert per item (each rewrites the index file), queryItems. */
async function measureNaiveVectra(entries: number, dir: string): Promise<Row[]> {
  const { LocalIndex } = await import('vectra');
  const source = new VectorSource();
  const index = new LocalIndex(join(dir, `naive-${entries}`));
  await index.createIndex({ version: 1 });
  const items = Array.from({ length: entries }, (_, i) => ({ id: `e${i}`, vector: Array.from(source.vector()), metadata: {} }));
  await index.batchInsertItems(items);
  const upserts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    await index.upsertItem({ id: `new${i}`, vector: Array.from(source.vector()), metadata: {} });
    upserts.push(performance.now() - start);
  }
  const queries: number[] = [];
  for (let i = 0; i < 20; i++) {
    const start = performance.now();
    await index.queryItems(Array.from(source.near(Float32Array.from(items[source.index(entries)]!.vector))), '', 1);
    queries.push(performance.now() - start);
  }
  const cold = performance.now();
  const fresh = new LocalIndex(join(dir, `naive-${entries}`));
  await fresh.listItems();
  const coldMs = performance.now() - cold;
  const { statSync } = await import('node:fs');
  const bytes = statSync(join(dir, `naive-${entries}`, 'index.json')).size;
  const label = `vectra used naively, ${entries.toLocaleString('en')} entries`;
  return [
    {
      measure: `${label}: one upsert / one query`,
      result: `${fmt(percentile(upserts, 50))} / ${fmt(percentile(queries, 50))}`,
      target: 'reference',
    },
    {
      measure: `${label}: cold load / on disk`,
      result: `${fmt(coldMs)} / ${(bytes / entries).toFixed(0)} bytes per entry`,
      target: 'reference',
    },
  ];
}

/** The embedding model's own speed: the default model's architecture with random weights, through the worker. */
async function measureEmbedding(dtype: 'q8' | 'fp32', rounds: number): Promise<Row[]> {
  const modelDir = join(tmpdir(), 'deja-bench-models', 'minilm-l12-multilingual-random');
  await writeBertModel(modelDir, MINILM_L12_MULTILINGUAL, { quantized: true, fp32: true });
  const embedder = new WorkerEmbedder({
    model: modelDir,
    dtype,
    cacheDir: null,
    allowDownload: false,
    threads: Math.max(1, Math.min(4, cpus().length - 1)),
  });
  try {
    const loadBegan = performance.now();
    await embedder.load();
    const loadMs = performance.now() - loadBegan;
    const prompt = 'Can you explain how the cache decides which old entries to remove?';
    for (let i = 0; i < 10; i++) await embedder.embed([prompt]);
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const start = performance.now();
      await embedder.embed([`${prompt} (${i})`]);
      times.push(performance.now() - start);
    }
    delay.disable();
    return [
      {
        measure: `embedding a 12-word prompt, ${dtype} (${MINILM_L12_MULTILINGUAL.numLayers} layers, hidden ${MINILM_L12_MULTILINGUAL.hiddenSize}, vocabulary ${MINILM_L12_MULTILINGUAL.vocabSize.toLocaleString('en')}), worker thread`,
        result: `p50 ${fmt(percentile(times, 50))}, p99 ${fmt(percentile(times, 99))}; model load ${fmt(loadMs)}; the gateway's event loop meanwhile: delay p50 ${fmt(delay.percentile(50) / 1e6)}, p99 ${fmt(delay.percentile(99) / 1e6)}`,
        target: '≤ 15 ms p50',
      },
    ];
  } finally {
    await embedder.close();
  }
}

export async function semanticBench(options: { quick: boolean; only?: 'sqlite100' | 'decision' }): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'deja-semantic-bench-'));
  try {
    const rows: Row[] = [];
    if (options.only === 'sqlite100') return await measureStore('sqlite', 100_000, dir);
    if (options.only === 'decision') return await measureDecision(100_000, options.quick ? 300 : 1000);
    rows.push(...(await measureDecision(options.quick ? 10_000 : 100_000, options.quick ? 300 : 1000)));
    rows.push(...(await measureEmbedding('q8', options.quick ? 50 : 200)));
    rows.push(...(await measureEmbedding('fp32', options.quick ? 50 : 200)));
    for (const entries of options.quick ? [10_000] : [10_000, 100_000]) rows.push(...(await measureStore('sqlite', entries, dir)));
    // vectra rewrites whole shard files on every batch: 30k already shows where it goes.
    for (const entries of options.quick ? [10_000] : [10_000, 30_000]) rows.push(...(await measureStore('vectra', entries, dir)));
    rows.push(...(await measureNaiveVectra(10_000, dir)));
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function printSemanticRows(title: string, rows: Row[]): void {
  process.stdout.write(`\n### ${title}\n\n| measure | result | target |\n|---|---|---|\n`);
  for (const row of rows) process.stdout.write(`| ${row.measure} | ${row.result} | ${row.target} |\n`);
}
