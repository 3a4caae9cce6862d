/** A vector as it is persisted: int8 codes and their scale, exactly as the in-memory index holds it. */
export interface StoredVector {
  id: string;
  partition: string;
  codes: Int8Array;
  scale: number;
  /** Sign bits around the index's frozen centre, when it has one: kept so a start-up need not recompute them. */
  bits?: Int32Array;
}

/**
 * Vectors side by side: vector i is `ids[i]`, in partition `partitionKeys[partitionOf[i]]`,
 * with codes `codes[i*dimension .. (i+1)*dimension]` and scale `scales[i]`. Partition
 * keys are listed once: there are usually far fewer partitions than vectors.
 */
export interface VectorBatch {
  ids: string[];
  partitionKeys: string[];
  partitionOf: Uint32Array;
  scales: Float32Array;
  codes: Int8Array;
  /** Sign bits side by side, valid for the store's frozen centre; absent when unknown. */
  bits?: Int32Array;
}

/** What a store holds: its vectors, and the centre their sign bits were computed around. */
export interface StoredIndex {
  /**
   * Applied in order: each batch's `removed` ids first, then its vectors, later
   * batches replacing earlier ones. Ids are unique within a batch.
   */
  batches: Array<VectorBatch & { removed?: string[] }>;
  /** Set once the index froze its centre; every batch then carries bits for it. */
  centre?: Float32Array;
}

/** Packs vectors into one batch. */
export function toBatch(vectors: readonly StoredVector[]): VectorBatch {
  const dimension = vectors[0]?.codes.length ?? 0;
  const codes = new Int8Array(vectors.length * dimension);
  const scales = new Float32Array(vectors.length);
  const partitionOf = new Uint32Array(vectors.length);
  const words = vectors[0]?.bits?.length ?? 0;
  const withBits = words > 0 && vectors.every((vector) => vector.bits?.length === words);
  const bits = withBits ? new Int32Array(vectors.length * words) : undefined;
  const keys = new Map<string, number>();
  vectors.forEach((vector, i) => {
    codes.set(vector.codes, i * dimension);
    scales[i] = vector.scale;
    if (bits) bits.set(vector.bits!, i * words);
    let key = keys.get(vector.partition);
    if (key === undefined) {
      key = keys.size;
      keys.set(vector.partition, key);
    }
    partitionOf[i] = key;
  });
  return { ids: vectors.map((vector) => vector.id), partitionKeys: [...keys.keys()], partitionOf, scales, codes, bits };
}

/** Which embedding model made the stored vectors: vectors from another model are meaningless. */
export interface VectorSpace {
  model: string;
  dimension: number;
}

/**
 * Where the semantic index persists its vectors. The in-memory VectorIndex does
 * the searching; a store only has to load everything quickly at start-up and
 * take changes in batches.
 */
export interface VectorStore {
  /** The model the stored vectors belong to, if any were stored. */
  space(): Promise<VectorSpace | undefined>;
  /** Forgets every vector and records the model new ones will come from. */
  reset(space: VectorSpace): Promise<void>;
  /** Every stored vector, as batches to apply in order, with the frozen centre if there is one. */
  loadAll(): Promise<StoredIndex>;
  /** Applies one batch of changes atomically: removals first, then additions or replacements. */
  write(puts: StoredVector[], removals: string[]): Promise<void>;
  /** Whether the store would gain from being rewritten from the live set (see `compact`). */
  needsCompaction(): boolean;
  /** Rewrites the store to hold exactly these vectors (with bits for `centre`, when given). */
  compact(live: Iterable<StoredVector>, centre: Float32Array | undefined): Promise<void>;
  close(): Promise<void>;
  /** Bytes on disk, for reporting. */
  diskBytes(): Promise<number>;
}
