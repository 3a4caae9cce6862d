import type { StoredVector, VectorSpace, VectorStore } from './vectorStore';

/** A VectorStore in memory: for a gateway without a data directory, and for tests. */
export class MemoryVectorStore implements VectorStore {
  private stored: VectorSpace | undefined;
  private readonly vectors = new Map<string, StoredVector>();

  async space(): Promise<VectorSpace | undefined> {
    return this.stored;
  }

  async reset(space: VectorSpace): Promise<void> {
    this.stored = space;
    this.vectors.clear();
  }

  async loadAll(each: (vector: StoredVector) => void): Promise<void> {
    for (const vector of this.vectors.values()) each(vector);
  }

  async put(vectors: StoredVector[]): Promise<void> {
    for (const vector of vectors) this.vectors.set(vector.id, { ...vector, codes: vector.codes.slice() });
  }

  async remove(ids: string[]): Promise<void> {
    for (const id of ids) this.vectors.delete(id);
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
