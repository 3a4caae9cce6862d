import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WorkerEmbedder } from '../../src/core/embeddings/workerEmbedder';
import { TINY_BERT, writeBertModel } from '../fixtures/bertModel';
import { MODEL, sleep, startHarness, type Harness } from './harness';

const ROOT = resolve(__dirname, '../..');

interface Health {
  semantic: { state: string; reason?: string; dimension?: number; entries?: number; model: string };
}

async function health(h: Harness): Promise<Health> {
  return (await (await fetch(`${h.gateway.url}/health`)).json()) as Health;
}

async function waitForState(h: Harness, states: string[]): Promise<Health> {
  for (let i = 0; i < 200; i++) {
    const report = await health(h);
    if (states.includes(report.semantic.state)) return report;
    await sleep(50);
  }
  return health(h);
}

const ask = (content: string) => ({ model: MODEL, messages: [{ role: 'user', content }] });

describe('the real embedding model, offline (transformers.js in a worker)', function () {
  this.timeout(60_000);
  let root: string;
  let modelDir: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'deja-model-'));
    modelDir = join(root, 'tiny-bert');
    await writeBertModel(modelDir, TINY_BERT, { quantized: true });
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('loads a local model directory without any network, and embeds normalized vectors in a worker', async () => {
    const embedder = new WorkerEmbedder({ model: modelDir, dtype: 'fp32', cacheDir: null, allowDownload: false, threads: 1 });
    try {
      const info = await embedder.load();
      assert.equal(info.dimension, TINY_BERT.hiddenSize);
      assert.ok(info.maxTokens > 16);
      const [a, b, again] = await embedder.embed(['What is a cache?', 'Comment fonctionne un cache ?', 'What is a cache?']);
      assert.ok(a && b && again);
      assert.ok(Math.abs(Math.hypot(...a) - 1) < 1e-4);
      assert.deepEqual(Array.from(again), Array.from(a));
      assert.notDeepEqual(Array.from(b), Array.from(a));
      const [tooLong] = await embedder.embed([Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ')]);
      assert.equal(tooLong, undefined, 'a text the model would truncate gets no vector');
    } finally {
      await embedder.close();
    }
  });

  it('loads the quantized variant too', async () => {
    const embedder = new WorkerEmbedder({ model: modelDir, dtype: 'q8', cacheDir: null, allowDownload: false, threads: 1 });
    try {
      const [vector] = await embedder.embed(['hello']);
      assert.equal(vector?.length, TINY_BERT.hiddenSize);
    } finally {
      await embedder.close();
    }
  });

  it('closes cleanly: embeddings under way finish, and the worker ends by itself rather than being torn down', async () => {
    const embedder = new WorkerEmbedder({ model: modelDir, dtype: 'fp32', cacheDir: null, allowDownload: false, threads: 1 });
    await embedder.load();
    const texts = Array.from({ length: 64 }, (_, i) => `question number ${i} about caches and how they work`);
    const underWay = embedder.embed(texts);
    await new Promise(setImmediate); // the request is posted to the worker
    const began = performance.now();
    await embedder.close();
    // Terminating the thread would have rejected this ("the embedding worker exited").
    const vectors = await underWay;
    assert.equal(vectors.length, texts.length);
    assert.ok(vectors.every((vector) => vector?.length === TINY_BERT.hiddenSize));
    assert.ok(performance.now() - began < 5_000, 'it ended by itself, before the grace period ran out');
    await assert.rejects(embedder.embed(['after close']), /worker/);
  });

  it('runs the gateway with the model: /health goes from idle to ready, and misses report the nearest similarity', async () => {
    const h = await startHarness({
      gateway: { semantic: true, embeddingModel: modelDir, embeddingDtype: 'fp32', embeddingDownload: false },
    });
    try {
      assert.equal((await health(h)).semantic.state, 'idle', 'nothing loads before the first cacheable request');
      await (await h.post('/v1/chat/completions', ask('What is a cache?'))).text();
      const ready = await waitForState(h, ['ready', 'failed']);
      assert.equal(ready.semantic.state, 'ready', ready.semantic.reason);
      assert.equal(ready.semantic.dimension, TINY_BERT.hiddenSize);
      // A random-weight model finds everything similar: threshold 1 keeps these misses apart.
      await (await h.post('/v1/chat/completions', ask('How does a cache work?'), { 'x-deja-threshold': '1' })).text();
      await sleep(100);
      const next = await h.post('/v1/chat/completions', ask('Why is the sky blue?'), { 'x-deja-threshold': '1' });
      assert.equal(next.headers.get('x-deja-cache'), 'MISS');
      assert.match(next.headers.get('x-deja-similarity') ?? '', /^-?[01]\.\d{4}$/);
      const same = await h.post('/v1/chat/completions', ask('How does a cache work?'));
      assert.equal(same.headers.get('x-deja-cache'), 'HIT');
    } finally {
      await h.close();
    }
  });

  for (const [name, setup, pattern] of [
    ['a missing model directory', async (dir: string) => join(dir, 'no-such-model'), /does not exist or holds no config\.json/],
    [
      'a corrupt model file',
      async (dir: string) => {
        const broken = join(dir, 'broken-bert');
        await writeBertModel(broken, TINY_BERT);
        await writeFile(join(broken, 'onnx', 'model.onnx'), 'this is not an onnx model');
        return broken;
      },
      /could not be loaded/,
    ],
    ['a hub id with downloads off', async () => 'Xenova/not-on-this-machine', /could not be loaded.*downloads are off/],
  ] as const) {
    it(`disables the semantic level with a clear reason for ${name}, and answers every request`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'deja-badmodel-'));
      const model = await setup(dir);
      const h = await startHarness({
        gateway: { semantic: true, embeddingModel: model, embeddingDtype: 'fp32', embeddingDownload: false },
      });
      try {
        const first = await h.post('/v1/chat/completions', ask('still answered?'));
        assert.equal(first.status, 200);
        await first.text();
        const report = await waitForState(h, ['failed']);
        assert.equal(report.semantic.state, 'failed');
        assert.match(report.semantic.reason ?? '', pattern);
        assert.ok(h.logger.lines.some((line) => line.level === 'warn' && /semantic cache disabled/.test(line.message)));
        assert.equal((await h.post('/v1/chat/completions', ask('still answered?'))).headers.get('x-deja-cache'), 'HIT');
      } finally {
        await h.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  const evalSemantic = (...args: string[]): string =>
    execFileSync(
      process.execPath,
      [
        join(ROOT, 'node_modules/tsx/dist/cli.mjs'),
        join(ROOT, 'scripts/evalSemantic.ts'),
        '--embedding-model',
        modelDir,
        '--dtype',
        'fp32',
        ...args,
      ],
      { encoding: 'utf8', cwd: ROOT },
    );

  it('npm run eval:semantic runs the labelled pairs kept in the repository through the cache with a local model', async () => {
    const output = evalSemantic('--limit', '40');
    assert.match(output, /qqp-sample\.jsonl: 40 pairs, \d+ duplicates/);
    assert.match(output, /\| 0\.95 \| \d+ \| \d+ \| \d+ \| (?:[\d.]+%|n\/a) \|/);
    assert.doesNotMatch(output, /gptcache/);
  });

  it('eval:semantic --data-dir runs the qqp-dev.jsonl and GPTCache pairs of a folder, --data one file of pairs', async () => {
    const dir = join(root, 'pairs');
    await mkdir(dir);
    const sample = (await readFile(join(ROOT, 'test/fixtures/qqp-sample.jsonl'), 'utf8')).split('\n').slice(0, 12).join('\n');
    await writeFile(join(dir, 'qqp-dev.jsonl'), sample);
    await writeFile(join(dir, 'gptcache-mock-pairs.jsonl'), sample);
    await writeFile(join(dir, 'mine.jsonl'), sample);
    const output = evalSemantic('--data-dir', dir);
    assert.match(output, /qqp-dev\.jsonl: 12 pairs, \d+ duplicates/);
    assert.match(output, /gptcache-mock-pairs\.jsonl: 12 paraphrase pairs/);
    assert.match(evalSemantic('--data', join(dir, 'mine.jsonl')), /mine\.jsonl: 12 pairs, \d+ duplicates/);
  });

  it('deja reindex rebuilds the index from the stored entries', async () => {
    const h = await startHarness({
      gateway: { semantic: true, embeddingModel: modelDir, embeddingDtype: 'fp32', embeddingDownload: false },
    });
    const dataDir = h.dataDir;
    try {
      for (const question of ['first question', 'second question', 'third question'])
        await (await h.post('/v1/chat/completions', ask(question))).text();
      await waitForState(h, ['ready']);
      await h.gateway.close();
      const refused = (() => {
        try {
          execFileSync(process.execPath, [join(ROOT, 'dist/cli.js'), 'reindex', '--data', '/nonexistent/x/y'], {
            encoding: 'utf8',
            stdio: 'pipe',
          });
          return '';
        } catch (error) {
          return (error as { stderr: string }).stderr;
        }
      })();
      assert.match(refused, /deja reindex:/);
      execFileSync(process.execPath, [join(ROOT, 'esbuild.mjs')], { cwd: ROOT });
      const output = execFileSync(
        process.execPath,
        [
          join(ROOT, 'dist/cli.js'),
          'reindex',
          '--data',
          dataDir,
          '--embedding-model',
          modelDir,
          '--embedding-dtype',
          'fp32',
          '--embedding-download',
          'off',
          '--log-level',
          'warn',
        ],
        { encoding: 'utf8' },
      );
      assert.match(output, /embedded 3 of 3 entries/);
      assert.match(output, /semantic index rebuilt: 3 vectors/);
    } finally {
      await h.sim.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
