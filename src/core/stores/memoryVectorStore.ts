import { toBatch, type StoredIndex, type StoredVector, type VectorSpace, type VectorStore } from './vectorStore';

/** A VectorStore in memory: for a gateway without a data directory, and for tests. */
export class MemoryVectorStore implements VectorStore {
  private stored: VectorSpace | undefined;
  private centre: Float32Array | undefined;
  private readonly vectors = new Map<string, StoredVector>();

  async space(): Promise<VectorSpace | undefined> {
    return this.stored;
  }

  async reset(space: VectorSpace): Promise<void> {
    this.stored = space;
    this.centre = undefined;
    this.vectors.clear();
  }

  async loadAll(): Promise<StoredIndex> {
    return { batches: this.vectors.size ? [toBatch([...this.vectors.values()])] : [], centre: this.centre };
  }

  async write(puts: StoredVector[], removals: string[]): Promise<void> {
    for (const id of removals) this.vectors.delete(id);
    for (const vector of puts) this.vectors.set(vector.id, { ...vector, codes: vector.codes.slice(), bits: vector.bits?.slice() });
  }

  needsCompaction(): boolean {
    return false;
  }

  async compact(live: Iterable<StoredVector>, centre: Float32Array | undefined): Promise<void> {
    this.vectors.clear();
    this.centre = centre?.slice();
    await this.write([...live], []);
  }

  async close(): Promise<void> {}

  async diskBytes(): Promise<number> {
    return 0;
  }

  /** Ids held, for tests. */
  ids(): string[] {
    return [...this.vectors.keys()];
  }
}
