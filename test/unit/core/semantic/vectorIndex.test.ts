import assert from 'node:assert/strict';
import { quantize, VectorIndex } from '../../../../src/core/semantic/vectorIndex';
import { toBatch } from '../../../../src/core/stores/vectorStore';

function seeded(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = seeded(42);
const gauss = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
const normalize = (v: Float32Array) => {
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
};
const D = 48;
/** Every vector shares a common direction, as real sentence embeddings do. */
const bias = new Float32Array(D).map(() => gauss() * 0.3);
const randomVector = () => normalize(new Float32Array(D).map((_, i) => gauss() + bias[i]! * Math.sqrt(D)));
const near = (v: Float32Array, noise: number) => normalize(v.map((x) => x + (gauss() * noise) / Math.sqrt(D)));
const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);

describe('VectorIndex', () => {
  it('finds the nearest vector inside a partition only', () => {
    const index = new VectorIndex(D);
    const a = randomVector();
    index.add('a', 'p1', a);
    index.add('b', 'p1', randomVector());
    index.add('c', 'p2', a);
    const [best] = index.search('p1', near(a, 0.2), 1);
    assert.equal(best!.id, 'a');
    assert.ok(Math.abs(best!.score - cosine(near(a, 0), a)) < 0.05);
    assert.deepEqual(index.search('p3', a), []);
    assert.equal(index.search('p2', a)[0]!.id, 'c');
  });

  it('scores within 0.01 of the exact cosine', () => {
    const index = new VectorIndex(D);
    const vectors = Array.from({ length: 50 }, randomVector);
    vectors.forEach((vector, i) => index.add(`v${i}`, 'p', vector));
    const query = randomVector();
    for (const result of index.search('p', query, 50)) {
      const i = Number(result.id.slice(1));
      assert.ok(Math.abs(result.score - cosine(query, vectors[i]!)) < 0.01, `${result.score} vs ${cosine(query, vectors[i]!)}`);
    }
  });

  it('keeps ids and slots right through removals and replacements', () => {
    const index = new VectorIndex(D);
    const vectors = Array.from({ length: 40 }, randomVector);
    vectors.forEach((vector, i) => index.add(`v${i}`, 'p', vector));
    for (let i = 0; i < 40; i += 3) assert.equal(index.remove(`v${i}`), true);
    assert.equal(index.remove('v0'), false);
    index.add('v1', 'other', vectors[1]!);
    for (let i = 0; i < 40; i++) {
      const [best] = index.search(i === 1 ? 'other' : 'p', vectors[i]!, 1);
      if (i % 3 === 0) assert.notEqual(best?.id, `v${i}`);
      else assert.equal(best!.id, `v${i}`);
    }
    assert.equal(index.size, 40 - 14);
    assert.equal(index.partitionOf('v1'), 'other');
    index.remove('v1');
    assert.equal(index.partitionCount, 1, 'an emptied partition disappears');
  });

  it('narrows large partitions with sign bits and still finds near-duplicates', function () {
    this.timeout(60_000);
    const index = new VectorIndex(D);
    const vectors = Array.from({ length: 12_000 }, randomVector);
    vectors.forEach((vector, i) => index.add(`v${i}`, 'big', vector));
    let found = 0;
    for (let q = 0; q < 200; q++) {
      const target = Math.floor(random() * vectors.length);
      const query = near(vectors[target]!, 0.35);
      if (index.search('big', query, 1)[0]?.id === `v${target}`) found++;
    }
    assert.ok(found >= 196, `recall ${found}/200`);
  });

  it('loads persisted codes into the same index as adding vectors one by one', () => {
    const one = new VectorIndex(D);
    const vectors = Array.from({ length: 100 }, randomVector);
    vectors.forEach((vector, i) => one.add(`v${i}`, `p${i % 3}`, vector));
    const bulk = new VectorIndex(D);
    const stored = vectors.map((vector, i) => ({ id: `v${i}`, partition: `p${i % 3}`, ...quantize(vector) }));
    bulk.load({ batches: [toBatch(stored.slice(0, 60)), toBatch(stored.slice(60))] });
    assert.equal(bulk.size, 100);
    // Loading into a non-empty index replaces what it already holds.
    bulk.load({ batches: [toBatch([stored[5]!])] });
    assert.equal(bulk.size, 100);
    const query = randomVector();
    for (const partition of ['p0', 'p1', 'p2']) assert.deepEqual(bulk.search(partition, query, 5), one.search(partition, query, 5));
  });

  it('refuses vectors of the wrong dimension', () => {
    const index = new VectorIndex(D);
    assert.throws(() => index.add('x', 'p', new Float32Array(D + 1)), /dimensions/);
    assert.throws(() => new VectorIndex(0));
  });
});
