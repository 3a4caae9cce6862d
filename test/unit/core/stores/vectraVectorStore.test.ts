import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantize, VectorIndex } from '../../../../src/core/semantic/vectorIndex';
import type { StoredVector } from '../../../../src/core/stores/vectorStore';
import { VectraVectorStore } from '../../../../src/core/stores/vectraVectorStore';

const D = 8;
let seed = 11;
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
const vector = (id: string, partition = 'p'): StoredVector => ({ id, partition, ...quantize(Float32Array.from({ length: D }, random)) });

/** Every path under a directory, recursively, with its permission bits. */
async function modesUnder(dir: string): Promise<Array<{ path: string; directory: boolean; mode: number }>> {
  const out: Array<{ path: string; directory: boolean; mode: number }> = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    out.push({ path, directory: entry.isDirectory(), mode: (await stat(path)).mode & 0o777 });
    if (entry.isDirectory()) out.push(...(await modesUnder(path)));
  }
  return out;
}

function assertOwnerOnly(entries: Array<{ path: string; directory: boolean; mode: number }>): void {
  for (const { path, directory, mode } of entries) {
    assert.equal(mode, directory ? 0o700 : 0o600, `${path} is ${mode.toString(8)}`);
  }
}

describe('VectraVectorStore (vectra index files)', () => {
  let root: string;
  let folder: string;
  let umask: number;
  beforeEach(async () => {
    // The usual umask, so that the modes checked come from Deja and not from a strict umask.
    umask = process.umask(0o022);
    root = await mkdtemp(join(tmpdir(), 'deja-vectra-'));
    folder = join(root, 'vectra');
  });
  afterEach(async () => {
    process.umask(umask);
    await rm(root, { recursive: true, force: true });
  });

  it('keeps its vectors across a reopen: later writes replace, removals remove', async () => {
    const store = await VectraVectorStore.open(folder);
    await store.reset({ model: 'm', dimension: D });
    await store.write([vector('a'), vector('b'), vector('c')], []);
    await store.write([vector('a', 'q')], ['b']);
    await store.close();
    const reopened = await VectraVectorStore.open(folder);
    assert.deepEqual(await reopened.space(), { model: 'm', dimension: D });
    const index = new VectorIndex(D);
    index.load(await reopened.loadAll());
    assert.deepEqual([...index.ids()].sort(), ['a', 'c']);
    assert.equal(index.partitionOf('a'), 'q');
    await reopened.close();
  });

  it('writes every shard folder 0700 and every file 0600, on creation and on each rewrite', async () => {
    const store = await VectraVectorStore.open(folder);
    await store.reset({ model: 'm', dimension: D });
    const ids = Array.from({ length: 40 }, (_, i) => `id-${i}`);
    await store.write(
      ids.map((id) => vector(id)),
      [],
    );
    const first = await modesUnder(folder);
    assert.ok(first.filter((entry) => entry.path.endsWith('index.json')).length > 5, 'vectors spread over several shards');
    assert.ok(first.some((entry) => entry.path.endsWith('space.json')));
    assert.equal((await stat(folder)).mode & 0o777, 0o700);
    assertOwnerOnly(first);
    // Rewrites of the same shards, removals, and shards created later.
    await store.write(
      ids.slice(0, 10).map((id) => vector(id, 'q')),
      ids.slice(10, 20),
    );
    await store.write(
      Array.from({ length: 40 }, (_, i) => vector(`later-${i}`)),
      [],
    );
    assertOwnerOnly(await modesUnder(folder));
    await store.close();
  });

  it('brings the files an older Deja left 0644 back to 0600 when it opens them', async () => {
    const store = await VectraVectorStore.open(folder);
    await store.reset({ model: 'm', dimension: D });
    await store.write(
      Array.from({ length: 20 }, (_, i) => vector(`id-${i}`)),
      [],
    );
    await store.close();
    // What vectra writes on its own: folders 0755, files 0644.
    for (const { path, directory } of await modesUnder(folder)) await chmod(path, directory ? 0o755 : 0o644);
    await chmod(folder, 0o755);
    const reopened = await VectraVectorStore.open(folder);
    await reopened.loadAll();
    assert.equal((await stat(folder)).mode & 0o777, 0o700);
    assertOwnerOnly(await modesUnder(folder));
    await reopened.close();
  });
});
