/**
 * `npm run eval:semantic -- --embedding-model <id or dir> [--dtype q8] [--limit N]
 *   [--data <pairs.jsonl> | --data-dir <dir>]`
 * (npm also accepts `npm run eval:semantic --embedding-model <dir>`).
 *
 * Runs labelled question pairs through the real cache code (LlmCache, SemanticCache, the
 * transformers.js worker) and prints, for a sweep of thresholds, precision of semantic hits,
 * recall of duplicates and the false-hit rate, so the default threshold can be set where
 * precision is at least 0.97.
 *
 * - By default, test/fixtures/qqp-sample.jsonl: 300 Quora Question Pairs kept in the
 *   repository (test/fixtures/labelled-pairs.md). `--data <file>` runs another file of
 *   `{"a","b","same"}` pairs the same way. For each pair, `a` is stored and `b` asked in a
 *   context of its own. A hit on a duplicate is correct, a hit on a non-duplicate is a wrong
 *   answer served (a false hit), a miss on a duplicate is a lost saving.
 * - `--data-dir <dir>` (the larger sets, `--data-dir ../shared/data`) runs the dir's
 *   qqp-dev.jsonl that way, then gptcache-mock-pairs.jsonl, GPTCache's own benchmark set,
 *   run as GPTCache ran it: every `a` stored in one shared context, every `b` asked; a hit
 *   is correct when it returns the entry of its own pair.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { identifyRequest, tenantTag } from '../src/core/cacheKey';
import type { EmbeddingDtype } from '../src/core/embeddings/embedder';
import { WorkerEmbedder } from '../src/core/embeddings/workerEmbedder';
import { LlmCache } from '../src/core/llmCache';
import { createLogger } from '../src/core/logger';
import { DEFAULT_EMBEDDING_MODEL } from '../src/core/options';
import { SemanticCache } from '../src/core/semantic/semanticCache';
import { MemoryExactStore } from '../src/core/stores/memoryExactStore';
import { MemoryVectorStore } from '../src/core/stores/memoryVectorStore';
import type { JsonObject } from '../src/core/types';

interface Pair {
  a: string;
  b: string;
  same: boolean;
}

const SAMPLE = resolve(__dirname, '../test/fixtures/qqp-sample.jsonl');
const USAGE = `Usage: npm run eval:semantic -- --embedding-model <id or dir> [--dtype q8|fp32] [--limit N] [--data <pairs.jsonl> | --data-dir <dir>]
  --data defaults to test/fixtures/qqp-sample.jsonl (300 labelled pairs); the larger sets: --data-dir ../shared/data\n`;

const THRESHOLDS = [0.8, 0.85, 0.88, 0.9, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99];
const TARGET_PRECISION = 0.97;

function readPairs(file: string, limit: number | undefined): Pair[] {
  const pairs = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Pair);
  return limit ? pairs.slice(0, limit) : pairs;
}

const tenant = tenantTag('eval', undefined);
const request = (question: string, context: string): JsonObject => ({
  model: 'eval-model',
  messages: [
    { role: 'system', content: context },
    { role: 'user', content: question },
  ],
});
const answer = (text: string): JsonObject => ({
  id: 'eval',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
});

/** Stores `question` in `context` through the cache, as a miss followed by an answer would. */
async function store(cache: LlmCache, question: string, context: string, text: string): Promise<string> {
  const identity = identifyRequest('chat.completions', tenant, request(question, context));
  const lookup = await cache.lookup({ endpoint: 'chat.completions', identity, tenant, threshold: 2 });
  const semantic = lookup.kind === 'miss' ? lookup.semantic : undefined;
  const entry = await cache.store({
    endpoint: 'chat.completions',
    identity,
    tenant,
    model: 'eval-model',
    response: answer(text),
    source: 'json',
    ttlSeconds: 86_400,
    semantic,
  });
  return entry!.id;
}

/** Asks through the cache with a threshold of 0, so the nearest neighbour always comes back. */
async function nearest(
  cache: LlmCache,
  question: string,
  context: string,
): Promise<{ id: string | undefined; similarity: number | undefined }> {
  const identity = identifyRequest('chat.completions', tenant, request(question, context));
  const result = await cache.lookup({ endpoint: 'chat.completions', identity, tenant, threshold: -1 });
  if (result.kind === 'semantic') return { id: result.entry.id, similarity: result.similarity };
  if (result.kind === 'exact') return { id: result.entry.id, similarity: 1 };
  return { id: undefined, similarity: result.nearestSimilarity };
}

async function openCache(model: string, dtype: EmbeddingDtype): Promise<{ cache: LlmCache; close(): Promise<void> }> {
  const exact = new MemoryExactStore();
  const embedder = new WorkerEmbedder({ model, dtype, cacheDir: null, allowDownload: true, threads: 2 });
  const semantic = new SemanticCache({
    embedder,
    openStore: async () => new MemoryVectorStore(),
    exact,
    logger: createLogger('warn'),
    model,
    space: `${model}#${dtype}`,
    threshold: 1,
  });
  await semantic.start();
  const status = semantic.status();
  if (status.state !== 'ready') throw new Error(`the model did not load: ${status.reason}`);
  return { cache: new LlmCache({ exact, semantic, logger: createLogger('warn') }), close: () => semantic.close() };
}

function pct(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : 'n/a';
}

async function evalQqp(model: string, dtype: EmbeddingDtype, file: string, limit: number | undefined): Promise<void> {
  const pairs = readPairs(file, limit);
  const { cache, close } = await openCache(model, dtype);
  const similarities: Array<number | undefined> = [];
  const began = Date.now();
  for (const [i, pair] of pairs.entries()) {
    await store(cache, pair.a, `qqp pair ${i}`, pair.a);
    similarities.push((await nearest(cache, pair.b, `qqp pair ${i}`)).similarity);
    if ((i + 1) % 1000 === 0) process.stderr.write(`  ${i + 1} of ${pairs.length} pairs (${Math.round((Date.now() - began) / 1000)} s)\n`);
  }
  await close();
  const duplicates = pairs.filter((pair) => pair.same).length;
  const others = pairs.length - duplicates;
  process.stdout.write(
    `\n### ${file.split('/').at(-1)}: ${pairs.length} pairs, ${duplicates} duplicates (store a, ask b, one context per pair)\n\n`,
  );
  process.stdout.write(
    '| threshold | hits | correct | false hits | precision | recall | false-hit rate |\n|---|---|---|---|---|---|---|\n',
  );
  let suggested: number | undefined;
  for (const threshold of THRESHOLDS) {
    let correct = 0;
    let wrong = 0;
    pairs.forEach((pair, i) => {
      const similarity = similarities[i];
      if (similarity === undefined || similarity < threshold) return;
      if (pair.same) correct++;
      else wrong++;
    });
    const precision = correct / (correct + wrong);
    if (suggested === undefined && precision >= TARGET_PRECISION) suggested = threshold;
    process.stdout.write(
      `| ${threshold} | ${correct + wrong} | ${correct} | ${wrong} | ${pct(precision)} | ${pct(correct / duplicates)} | ${pct(wrong / others)} |\n`,
    );
  }
  process.stdout.write(
    suggested === undefined
      ? `\nNo threshold in the sweep reaches ${TARGET_PRECISION * 100}% precision with this model.\n`
      : `\nLowest threshold with precision ≥ ${TARGET_PRECISION * 100}%: ${suggested}\n`,
  );
}

async function evalGptCache(model: string, dtype: EmbeddingDtype, file: string, limit: number | undefined): Promise<void> {
  const pairs = readPairs(file, limit);
  const { cache, close } = await openCache(model, dtype);
  const ids: string[] = [];
  for (const [i, pair] of pairs.entries()) ids.push(await store(cache, pair.a, 'gptcache benchmark', `answer ${i}`));
  const found: Array<{ id: string | undefined; similarity: number | undefined }> = [];
  for (const pair of pairs) found.push(await nearest(cache, pair.b, 'gptcache benchmark'));
  await close();
  process.stdout.write(
    `\n### ${file.split('/').at(-1)}: ${pairs.length} paraphrase pairs (every a stored in one context, every b asked)\n\n`,
  );
  process.stdout.write('| threshold | hits | wrong entry | misses | hit rate | precision |\n|---|---|---|---|---|---|\n');
  for (const threshold of THRESHOLDS) {
    let hits = 0;
    let wrong = 0;
    found.forEach((result, i) => {
      if (result.similarity === undefined || result.similarity < threshold) return;
      hits++;
      if (result.id !== ids[i]) wrong++;
    });
    process.stdout.write(
      `| ${threshold} | ${hits} | ${wrong} | ${pairs.length - hits} | ${pct(hits / pairs.length)} | ${pct((hits - wrong) / hits)} |\n`,
    );
  }
  process.stdout.write(
    "\nGPTCache's own table for this set: threshold 0.95: 425 hits, 25 wrong, 549 misses; 0.90: 804 / 77 / 118; 0.80: 904 / 92 / 3.\n",
  );
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'embedding-model': { type: 'string' },
      dtype: { type: 'string' },
      limit: { type: 'string' },
      data: { type: 'string' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  // `npm run eval:semantic --embedding-model x` (without `--`): npm keeps the flag for itself
  // (npm_config_embedding_model=true) and hands the value over as a positional argument.
  const fromNpm = (name: string, pick: (value: string) => boolean): string | undefined => {
    const value = process.env[`npm_config_${name}`];
    if (value && value !== 'true') return value;
    return value === 'true' ? positionals.find(pick) : undefined;
  };
  const isNumber = (value: string) => /^\d+$/.test(value);
  const isDtype = (value: string) => ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4'].includes(value);
  const model =
    values['embedding-model'] ?? fromNpm('embedding_model', (value) => !isNumber(value) && !isDtype(value)) ?? DEFAULT_EMBEDDING_MODEL;
  const dtype = (values.dtype ?? fromNpm('dtype', isDtype) ?? 'q8') as EmbeddingDtype;
  const limitRaw = values.limit ?? fromNpm('limit', isNumber);
  const limit = limitRaw ? Number(limitRaw) : undefined;
  if (values.data !== undefined && values['data-dir'] !== undefined) throw new Error('give --data <file> or --data-dir <dir>, not both');
  const dataDir = values['data-dir'] === undefined ? undefined : resolve(values['data-dir']);
  const qqpFile = dataDir ? resolve(dataDir, 'qqp-dev.jsonl') : resolve(values.data ?? SAMPLE);
  const gptCacheFile = dataDir ? resolve(dataDir, 'gptcache-mock-pairs.jsonl') : undefined;
  for (const file of [qqpFile, gptCacheFile]) {
    if (file !== undefined && !existsSync(file))
      throw new Error(
        `${file} not found (${dataDir ? '--data-dir needs qqp-dev.jsonl and gptcache-mock-pairs.jsonl' : '--data names a JSONL file of {"a","b","same"} pairs'})`,
      );
  }
  process.stdout.write(`Semantic evaluation of ${model} (${dtype}), ${new Date().toISOString().slice(0, 10)}\n`);
  await evalQqp(model, dtype, qqpFile, limit);
  if (gptCacheFile) await evalGptCache(model, dtype, gptCacheFile, limit);
}

main().catch((error: Error) => {
  process.stderr.write(`eval:semantic: ${error.message}\n`);
  process.exit(1);
});
