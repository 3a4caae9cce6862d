import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toBatch, type StoredIndex, type StoredVector, type VectorBatch, type VectorSpace, type VectorStore } from './vectorStore';

/** vectra rewrites a whole index file on every update: spreading vectors over shards keeps each rewrite small. */
const SHARDS = 64;

/**
 * vectra has no option for file modes: it creates its files 0644 (and folders
 * 0755) under the process umask. After each of its writes, the shard folder is
 * made 0700 and everything in it 0600, like every other file Deja writes. A
 * rewrite in place keeps the mode; a file vectra would create anew (a new
 * shard, a metadata file, a write through a temporary file) is caught by the
 * next pass. Within the 0700 data directory no other user can reach a file in
 * between. Errors are ignored, as for the database file: a file system
 * without modes must not fail a write that succeeded.
 */
async function ownerOnly(folder: string): Promise<void> {
  await chmod(folder, 0o700).catch(() => {});
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    await chmod(join(folder, entry.name), entry.isDirectory() ? 0o700 : 0o600).catch(() => {});
  }
}

interface VectraMetadata extends Record<string, string | number | boolean> {
  partition: string;
  scale: number;
}

type LocalIndex = import('vectra').LocalIndex<VectraMetadata>;

/**
 * Vectors in vectra index files (`--vector-store vectra`): one LocalIndex per
 * shard, each batch of writes one update per touched shard. The int8 codes are
 * stored as the item's vector (cosine is scale-free, so vectra's own queries still
 * rank correctly); the in-memory VectorIndex does the searching.
 *
 * It is the option the product was first specified with. It is not the default:
 * vectra keeps every vector as JSON text and reloads a whole shard to change it, so
 * at 100k entries its files are several times larger and its cold open several
 * times slower than the SQLite table (figures in BENCHMARKS.md).
 */
export class VectraVectorStore implements VectorStore {
  private readonly shards = new Map<number, LocalIndex>();

  private constructor(
    private readonly folder: string,
    private readonly vectra: typeof import('vectra'),
  ) {}

  static async open(folder: string): Promise<VectraVectorStore> {
    await mkdir(folder, { recursive: true, mode: 0o700 });
    // A folder left by an older Deja: owner-only again (each shard's files when it is opened).
    await ownerOnly(folder);
    return new VectraVectorStore(folder, await import('vectra'));
  }

  private shardOf(id: string): number {
    return createHash('sha1').update(id).digest().readUInt16BE(0) % SHARDS;
  }

  private async shard(number: number): Promise<LocalIndex> {
    let index = this.shards.get(number);
    if (!index) {
      const folder = join(this.folder, `shard-${String(number).padStart(2, '0')}`);
      // Created owner-only before vectra's own mkdir, which then finds it.
      await mkdir(folder, { recursive: true, mode: 0o700 });
      index = new this.vectra.LocalIndex<VectraMetadata>(folder);
      if (!(await index.isIndexCreated())) await index.createIndex({ version: 1 });
      // Also brings a shard written by an older Deja (0644 files) to 0600.
      await ownerOnly(folder);
      this.shards.set(number, index);
    }
    return index;
  }

  private groupByShard<T>(items: T[], idOf: (item: T) => string): Map<number, T[]> {
    const groups = new Map<number, T[]>();
    for (const item of items) {
      const number = this.shardOf(idOf(item));
      const group = groups.get(number) ?? [];
      group.push(item);
      groups.set(number, group);
    }
    return groups;
  }

  async space(): Promise<VectorSpace | undefined> {
    try {
      return JSON.parse(await readFile(join(this.folder, 'space.json'), 'utf8')) as VectorSpace;
    } catch {
      return undefined;
    }
  }

  async reset(space: VectorSpace): Promise<void> {
    this.shards.clear();
    for (const name of await readdir(this.folder)) {
      if (name.startsWith('shard-')) await rm(join(this.folder, name), { recursive: true, force: true });
    }
    await writeFile(join(this.folder, 'space.json'), JSON.stringify(space), { mode: 0o600 });
  }

  async loadAll(): Promise<StoredIndex> {
    const batches: VectorBatch[] = [];
    for (const name of await readdir(this.folder)) {
      const match = /^shard-(\d+)$/.exec(name);
      if (!match) continue;
      const index = await this.shard(Number(match[1]));
      const items = await index.listItems();
      batches.push(
        toBatch(
          items.map((item) => ({
            id: item.id,
            partition: item.metadata.partition,
            scale: item.metadata.scale,
            codes: Int8Array.from(item.vector),
          })),
        ),
      );
    }
    // Sign bits are not kept in vectra items: the index recomputes them.
    return { batches: batches.filter((batch) => batch.ids.length > 0) };
  }

  async write(puts: StoredVector[], removals: string[]): Promise<void> {
    await this.remove(removals);
    await this.put(puts);
  }

  needsCompaction(): boolean {
    return false;
  }

  /** vectra keeps no sign bits or centre, and rewriting every shard would gain nothing: a no-op. */
  async compact(_live: Iterable<StoredVector>, _centre: Float32Array | undefined): Promise<void> {}

  private async put(vectors: StoredVector[]): Promise<void> {
    for (const [number, group] of this.groupByShard(vectors, (vector) => vector.id)) {
      const index = await this.shard(number);
      await index.beginUpdate();
      try {
        for (const vector of group) {
          await index.upsertItem({
            id: vector.id,
            vector: Array.from(vector.codes),
            metadata: { partition: vector.partition, scale: vector.scale },
          });
        }
        await index.endUpdate();
      } catch (error) {
        index.cancelUpdate();
        throw error;
      }
      await ownerOnly(index.folderPath);
    }
  }

  private async remove(ids: string[]): Promise<void> {
    for (const [number, group] of this.groupByShard(ids, (id) => id)) {
      const index = await this.shard(number);
      await index.beginUpdate();
      try {
        for (const id of group) await index.deleteItem(id);
        await index.endUpdate();
      } catch (error) {
        index.cancelUpdate();
        throw error;
      }
      await ownerOnly(index.folderPath);
    }
  }

  async close(): Promise<void> {
    this.shards.clear();
  }

  async diskBytes(): Promise<number> {
    let total = 0;
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else total += (await stat(path)).size;
      }
    };
    await walk(this.folder);
    return total;
  }
}
