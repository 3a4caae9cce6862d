/** A vector as it is persisted: int8 codes and their scale, exactly as the in-memory index holds it. */
export interface StoredVector {
  id: string;
  partition: string;
  codes: Int8Array;
  scale: number;
}

/** Which embedding model made the stored vectors: vectors from another model are meaningless. */
export interface VectorSpace {
  model: string;
  dimension: number;
}

/**
 * Where the semantic index persists its vectors. The in-memory VectorIndex does
 * the searching; this only has to load everything quickly and take writes in batches.
 */
export interface VectorStore {
  /** The model the stored vectors belong to, if any were stored. */
  space(): Promise<VectorSpace | undefined>;
  /** Forgets every vector and records the model new ones will come from. */
  reset(space: VectorSpace): Promise<void>;
  /** Calls back with every stored vector, in no particular order. */
  loadAll(each: (vector: StoredVector) => void): Promise<void>;
  /** Adds or replaces vectors, in one batch. */
  put(vectors: StoredVector[]): Promise<void>;
  remove(ids: string[]): Promise<void>;
  close(): Promise<void>;
  /** Bytes on disk, for reporting. */
  diskBytes(): Promise<number>;
}
