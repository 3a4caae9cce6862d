import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FeatureExtractionPipeline } from '@huggingface/transformers' with { 'resolution-mode': 'import' };
import { TINY_BERT, writeBertModel } from '../fixtures/bertModel';

type Extractor = FeatureExtractionPipeline;
type TokenizerJson = { model: { vocab: Record<string, number> } };
type Env = typeof import('@huggingface/transformers', { with: { 'resolution-mode': 'import' } }).env;

async function embed(extractor: Extractor, texts: string[]): Promise<number[][]> {
  const output = await extractor(texts, { pooling: 'mean', normalize: true });
  assert.deepEqual(output.dims, [texts.length, TINY_BERT.hiddenSize]);
  return output.tolist() as number[][];
}

function norm(v: readonly number[]): number {
  return Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));
}

function cosine(a: readonly number[], b: readonly number[]): number {
  return a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0) / (norm(a) * norm(b));
}

function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((x, i) => Math.abs(x - (b[i] ?? Number.NaN))));
}

const TEXTS = [
  'hello world',
  'What is the capital of France?',
  'Explain how caching works in a web server, step by step, with an example in Python.',
  'a',
];
const RUSSIAN = 'Привет! Какая сегодня погода в Москве?';
const MODEL_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'onnx/model.onnx',
  'onnx/model_quantized.onnx',
];

describe('bertModel fixture (tiny BERT through transformers.js)', function () {
  let dir = '';
  let fp32: Extractor | undefined;
  let q8: Extractor | undefined;
  let env: Env | undefined;
  let savedEnv: EnvFields | undefined;

  before(async function () {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'deja-bert-'));
    await writeBertModel(dir, TINY_BERT, { quantized: true });
    // The package is ESM-only as far as TypeScript's node16 resolution is concerned.
    const transformers = await import('@huggingface/transformers');
    const { pipeline } = transformers;
    env = transformers.env;
    savedEnv = pick(env);
    // The product's offline path: local files only, model id = directory name.
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = path.dirname(dir);
    fp32 = await pipeline('feature-extraction', path.basename(dir), { dtype: 'fp32' });
    q8 = await pipeline('feature-extraction', path.basename(dir), { dtype: 'q8' });
  });

  after(async function () {
    await fp32?.dispose();
    await q8?.dispose();
    if (env && savedEnv) Object.assign(env, savedEnv);
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const extractor = (which: Extractor | undefined): Extractor => {
    assert.ok(which, 'pipeline loaded in before()');
    return which;
  };

  it('writes the files transformers.js expects, and skips an unchanged spec', async function () {
    for (const file of MODEL_FILES) assert.ok((await fs.stat(path.join(dir, file))).size > 0, file);

    const model = path.join(dir, 'onnx/model.onnx');
    const before = (await fs.stat(model)).mtimeMs;
    await writeBertModel(dir, TINY_BERT, { quantized: true });
    assert.equal((await fs.stat(model)).mtimeMs, before, 'same spec: nothing rewritten');

    const tokenizer = JSON.parse(await fs.readFile(path.join(dir, 'tokenizer.json'), 'utf8')) as TokenizerJson;
    assert.equal(Object.keys(tokenizer.model.vocab).length, TINY_BERT.vocabSize);
  });

  it('embeds texts into unit vectors of the hidden size', async function () {
    const vectors = await embed(extractor(fp32), TEXTS);
    for (const v of vectors) {
      assert.ok(v.every(Number.isFinite));
      assert.ok(Math.abs(norm(v) - 1) < 1e-4, `norm ${norm(v)}`);
    }
  });

  it('gives the same vector for the same text and clearly different ones for different texts', async function () {
    const [first = [], second = []] = await embed(extractor(fp32), ['the weather in paris', 'the weather in paris']);
    assert.deepEqual(first, second);
    const vectors = await embed(extractor(fp32), TEXTS);
    for (let i = 0; i < vectors.length; i++) {
      for (let j = i + 1; j < vectors.length; j++) {
        const c = cosine(vectors[i] ?? [], vectors[j] ?? []);
        assert.ok(c < 0.999, `cosine(${i}, ${j}) = ${c}`);
      }
    }
  });

  it('embeds a padded batch exactly as it embeds each text alone (attention mask works)', async function () {
    const batch = await embed(extractor(fp32), TEXTS);
    for (const [i, text] of TEXTS.entries()) {
      const [alone = []] = await embed(extractor(fp32), [text]);
      const diff = maxAbsDiff(batch[i] ?? [], alone);
      assert.ok(diff < 1e-4, `text ${i}: max diff ${diff}`);
    }
  });

  it('embeds Russian text, as characters rather than [UNK]', async function () {
    const tokens = extractor(fp32).tokenizer.tokenize(RUSSIAN);
    assert.ok(!tokens.includes('[UNK]'), tokens.join(' '));
    const [v = []] = await embed(extractor(fp32), [RUSSIAN]);
    assert.ok(Math.abs(norm(v) - 1) < 1e-4);
  });

  it('loads the dynamically quantized variant with dtype q8, close to fp32', async function () {
    const texts = [...TEXTS, RUSSIAN];
    const exact = await embed(extractor(fp32), texts);
    const quantized = await embed(extractor(q8), texts);
    for (const [i, v] of quantized.entries()) {
      assert.ok(Math.abs(norm(v) - 1) < 1e-4);
      const c = cosine(v, exact[i] ?? []);
      assert.ok(c > 0.9, `text ${i}: cosine(q8, fp32) = ${c}`);
    }
  });
});

type EnvFields = Pick<Env, 'allowRemoteModels' | 'allowLocalModels' | 'localModelPath'>;

/** The env fields this test changes, so they can be put back for other tests. */
function pick(e: Env): EnvFields {
  const { allowRemoteModels, allowLocalModels, localModelPath } = e;
  return { allowRemoteModels, allowLocalModels, localModelPath };
}
