import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../../src/core/logger';
import { SemanticCache } from '../../../../src/core/semantic/semanticCache';
import { quantize, VectorIndex } from '../../../../src/core/semantic/vectorIndex';
import { MemoryExactStore } from '../../../../src/core/stores/memoryExactStore';
import { SqliteVectorStore } from '../../../../src/core/stores/sqliteVectorStore';
import type { StoredVector } from '../../../../src/core/stores/vectorStore';
import { FakeEmbedder } from '../../../fixtures/fakeEmbedder';

const D = 16;
let seed = 7;
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
const vector = (id: string, partition = 'p'): StoredVector => ({ id, partition, ...quantize(Float32Array.from({ length: D }, random)) });

async function loadIndex(store: SqliteVectorStore): Promise<VectorIndex> {
  const index = new VectorIndex(D);
  index.load(await store.loadAll());
  return index;
}

describe('SqliteVectorStore (log in SQLite, snapshot file)', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'deja-vectors-'));
    file = join(dir, 'cache.sqlite');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('replays its log in order: later batches replace, removals remove', async () => {
    const store = await SqliteVectorStore.open(file);
    await store.reset({ model: 'm', dimension: D });
    const a1 = vector('a');
    const a2 = vector('a', 'q');
    await store.write([a1, vector('b'), vector('c')], []);
    await store.write([a2], ['b']);
    await store.close();
    const reopened = await SqliteVectorStore.open(file);
    assert.deepEqual(await reopened.space(), { model: 'm', dimension: D });
    const index = await loadIndex(reopened);
    assert.deepEqual([...index.ids()].sort(), ['a', 'c']);
    assert.equal(index.partitionOf('a'), 'q');
    await reopened.close();
  });

  it('compacts into a snapshot file, atomically replacing the previous one', async () => {
    const store = await SqliteVectorStore.open(file);
    await store.reset({ model: 'm', dimension: D });
    const vectors = Array.from({ length: 50 }, (_, i) => vector(`v${i}`, `p${i % 4}`));
    await store.write(vectors, []);
    const centre = new Float32Array(D).fill(0.01);
    await store.compact(vectors.slice(10), centre);
    await store.compact(vectors.slice(20), centre);
    const snapshots = (await readdir(dir)).filter((name) => name.includes('.vectors-'));
    assert.equal(snapshots.length, 1, 'the old snapshot was removed');
    await store.write([vector('late')], ['v20']);
    const index = await loadIndex(store);
    assert.equal(index.size, 30);
    assert.ok(index.has('late') && !index.has('v20') && !index.has('v10'));
    assert.deepEqual(Array.from((await store.loadAll()).centre ?? []), Array.from(centre));
    await store.close();
  });

  it('cleans up a snapshot left by a crash in the middle of a compaction', async () => {
    const store = await SqliteVectorStore.open(file);
    await store.reset({ model: 'm', dimension: D });
    await store.compact([vector('a')], undefined);
    await writeFile(join(dir, 'cache.sqlite.vectors-orphan-1'), 'left over');
    await store.compact([vector('a'), vector('b')], undefined);
    assert.deepEqual((await readdir(dir)).filter((name) => name.includes('.vectors-')).length, 1);
    await store.close();
  });

  it('detects a truncated or corrupt snapshot', async () => {
    const store = await SqliteVectorStore.open(file);
    await store.reset({ model: 'm', dimension: D });
    await store.compact(
      Array.from({ length: 20 }, (_, i) => vector(`v${i}`)),
      undefined,
    );
    const [snapshot] = (await readdir(dir)).filter((name) => name.includes('.vectors-'));
    const path = join(dir, snapshot!);
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, bytes.length - 7));
    await assert.rejects(store.loadAll(), /truncated/);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 3]! ^= 0xff;
    await writeFile(path, flipped);
    await assert.rejects(store.loadAll(), /corrupt/);
    await store.close();
  });

  it('rebuilds a corrupt index from the stored entries instead of failing', async () => {
    const exact = new MemoryExactStore();
    const openStore = () => SqliteVectorStore.open(file);
    const make = () =>
      new SemanticCache({
        embedder: new FakeEmbedder({ dimension: D }),
        openStore,
        exact,
        logger: silentLogger,
        model: 'fake',
        space: 'fake',
        threshold: 0.9,
      });
    const first = make();
    await first.start();
    const entry = {
      version: 1 as const,
      id: 'e1',
      endpoint: 'chat.completions' as const,
      model: 'm',
      tenant: 't',
      createdAt: Date.now(),
      expiresAt: Date.now() + 60_000,
      request: { model: 'm', messages: [{ role: 'user', content: 'capital of France' }] },
      response: { choices: [{ index: 0, message: { role: 'assistant', content: 'Paris' }, finish_reason: 'stop' }] },
      source: 'json' as const,
    };
    await exact.set(entry);
    first.remember(
      'e1',
      'any-partition',
      Float32Array.from({ length: D }, (_, i) => (i === 0 ? 1 : 0)),
    );
    await first.flush();
    const store = await openStore();
    await store.compact([vector('e1')], undefined);
    await store.close();
    await first.close();
    for (const name of (await readdir(dir)).filter((n) => n.includes('.vectors-'))) await writeFile(join(dir, name), 'garbage');
    const second = make();
    await second.start();
    assert.equal(second.status().state, 'ready');
    for (let i = 0; i < 50 && second.status().entries !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(second.status().entries, 1, 'the entry was embedded again');
    await second.close();
  });
});
