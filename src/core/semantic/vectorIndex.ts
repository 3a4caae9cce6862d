import type { StoredIndex, StoredVector } from '../stores/vectorStore';

/**
 * The in-memory search structure of the semantic cache: vectors grouped by
 * partition (a search never crosses one), stored as int8 codes with a scale per
 * vector (a quarter of float32's memory; the similarity error is about 1e-3).
 *
 * A small partition is scanned exactly. A large one is first narrowed with
 * binary codes (one sign bit per dimension around the index's centre, compared
 * with popcount), then the best few hundred candidates are scored exactly: a
 * near-duplicate question has a near-identical sign pattern, so it survives the
 * narrowing, and a 100k-entry partition is searched in a few milliseconds.
 */

export interface SearchResult {
  id: string;
  /** Cosine similarity (vectors are normalized), from the int8 codes. */
  score: number;
}

/** Partitions up to this size are scanned exactly. */
const EXACT_SCAN_LIMIT = 4096;
/** Candidates kept by the binary narrowing, at least. */
const MIN_CANDIDATES = 256;
/**
 * The centre is re-estimated each time the index doubles, until it holds this
 * many vectors; then it is frozen (the mean of 4096 sentence vectors does not move
 * much more), so sign bits can be persisted and copied at start-up.
 */
const FREEZE_CENTRE_AT = 4096;
/** A location packs partition number and slot into one number: no object per vector. */
const SLOTS_PER_PARTITION = 2 ** 22;

/** int8 codes with one scale per vector: code = round(value / scale), scale = max |value| / 127. */
export function quantize(vector: Float32Array): { codes: Int8Array; scale: number } {
  let max = 0;
  for (let i = 0; i < vector.length; i++) max = Math.max(max, Math.abs(vector[i]!));
  const scale = max === 0 ? 1 : max / 127;
  const codes = new Int8Array(vector.length);
  for (let i = 0; i < vector.length; i++) codes[i] = Math.round(vector[i]! / scale);
  return { codes, scale };
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

class Partition {
  ids: string[] = [];
  codes: Int8Array;
  scales: Float32Array;
  bits: Int32Array;

  constructor(
    readonly key: string,
    readonly number: number,
    private readonly dimension: number,
    private readonly words: number,
    capacity = 16,
  ) {
    capacity = Math.max(1, capacity);
    this.codes = new Int8Array(capacity * dimension);
    this.scales = new Float32Array(capacity);
    this.bits = new Int32Array(capacity * words);
  }

  get size(): number {
    return this.ids.length;
  }

  /** Appends vectors side by side, with their sign bits when known (else the caller fills them in); returns the first slot. */
  append(ids: readonly string[], codes: Int8Array, scales: Float32Array, bits?: Int32Array): number {
    const first = this.ids.length;
    if (first + ids.length > SLOTS_PER_PARTITION) throw new Error(`a partition holds at most ${SLOTS_PER_PARTITION} vectors`);
    this.reserve(first + ids.length);
    for (const id of ids) this.ids.push(id);
    this.codes.set(codes, first * this.dimension);
    this.scales.set(scales, first);
    if (bits) this.bits.set(bits, first * this.words);
    return first;
  }

  /** Removes a slot by moving the last vector into it; returns the id that moved, if any. */
  removeAt(slot: number): string | undefined {
    const last = this.ids.length - 1;
    let moved: string | undefined;
    if (slot !== last) {
      moved = this.ids[last]!;
      this.ids[slot] = moved;
      this.codes.copyWithin(slot * this.dimension, last * this.dimension, (last + 1) * this.dimension);
      this.scales[slot] = this.scales[last]!;
      this.bits.copyWithin(slot * this.words, last * this.words, (last + 1) * this.words);
    }
    this.ids.pop();
    return moved;
  }

  /** Makes room for this many vectors without further copies. */
  reserve(capacity: number): void {
    if (capacity <= this.scales.length) return;
    capacity = Math.max(capacity, this.scales.length * 2);
    const codes = new Int8Array(capacity * this.dimension);
    codes.set(this.codes);
    const scales = new Float32Array(capacity);
    scales.set(this.scales);
    const bits = new Int32Array(capacity * this.words);
    bits.set(this.bits);
    this.codes = codes;
    this.scales = scales;
    this.bits = bits;
  }
}

export class VectorIndex {
  private readonly partitions = new Map<string, Partition>();
  private readonly byNumber: Array<Partition | undefined> = [];
  private readonly freeNumbers: number[] = [];
  /** id → partition number × SLOTS_PER_PARTITION + slot. */
  private readonly locations = new Map<string, number>();
  private readonly words: number;
  /** The centre the sign bits are taken around; re-estimated as the index grows, then frozen. */
  private readonly centreVector: Float32Array;
  private readonly sum: Float64Array;
  private centreCount = 0;
  private frozen = false;
  /** Set when the centre froze and the store does not know it yet. */
  private centreUnsaved = false;

  constructor(readonly dimension: number) {
    if (!Number.isInteger(dimension) || dimension <= 0) throw new Error(`invalid vector dimension ${dimension}`);
    this.words = Math.ceil(dimension / 32);
    this.centreVector = new Float32Array(dimension);
    this.sum = new Float64Array(dimension);
  }

  get size(): number {
    return this.locations.size;
  }

  get partitionCount(): number {
    return this.partitions.size;
  }

  has(id: string): boolean {
    return this.locations.has(id);
  }

  partitionOf(id: string): string | undefined {
    const location = this.locations.get(id);
    return location === undefined ? undefined : this.byNumber[Math.floor(location / SLOTS_PER_PARTITION)]?.key;
  }

  ids(): IterableIterator<string> {
    return this.locations.keys();
  }

  /** The frozen centre, once there is one. */
  get centre(): Float32Array | undefined {
    return this.frozen ? this.centreVector : undefined;
  }

  /** True once after the centre froze: the store should be compacted to keep it (and the bits). */
  takeUnsavedCentre(): boolean {
    const unsaved = this.centreUnsaved;
    this.centreUnsaved = false;
    return unsaved;
  }

  /**
   * Adds a normalized vector, replacing any vector already stored under the id.
   * Returns it as it should be persisted (with its sign bits once the centre is frozen).
   */
  add(id: string, key: string, vector: Float32Array): StoredVector {
    if (vector.length !== this.dimension) throw new Error(`vector has ${vector.length} dimensions, the index ${this.dimension}`);
    const { codes, scale } = quantize(vector);
    if (this.locations.has(id)) this.remove(id);
    const partition = this.partition(key, 1);
    const slot = partition.append([id], codes, Float32Array.of(scale));
    this.locations.set(id, partition.number * SLOTS_PER_PARTITION + slot);
    for (let i = 0; i < this.dimension; i++) this.sum[i]! += codes[i]! * scale;
    // Until it freezes, re-centre the sign bits each time the index doubles: cheap
    // amortized, and the bits stay informative when every vector shares a direction.
    if (!this.frozen && this.size >= 64 && this.size >= 2 * this.centreCount) this.recentre();
    else this.fillBits(partition, slot, slot + 1);
    const bits = this.frozen ? partition.bits.slice(slot * this.words, (slot + 1) * this.words) : undefined;
    return { id, partition: key, codes, scale, bits };
  }

  /**
   * Adds many persisted vectors at once (start-up): partitions are sized in
   * advance, runs of vectors of one partition are copied as blocks, then sums and
   * sign bits are computed in one pass over contiguous memory (or copied, when the
   * store kept them for a frozen centre). Ids must be unique across the batches,
   * as a VectorStore returns them.
   */
  load(stored: StoredIndex): void {
    const batches = stored.batches;
    const dimension = this.dimension;
    // A persisted centre comes with every vector's bits: nothing to recompute.
    const centre = stored.centre?.length === dimension ? stored.centre : undefined;
    // Size every partition once, for all batches: growing 40 MB arrays step by step costs more than the rest.
    const totals = new Map<string, number>();
    for (const batch of batches) {
      if (batch.codes.length !== batch.ids.length * dimension) throw new Error(`stored vectors are not of dimension ${dimension}`);
      const counts = new Uint32Array(batch.partitionKeys.length);
      for (let i = 0; i < batch.ids.length; i++) counts[batch.partitionOf[i]!]!++;
      batch.partitionKeys.forEach((key, k) => totals.set(key, (totals.get(key) ?? 0) + counts[k]!));
    }
    for (const [key, count] of totals) this.partition(key, count);
    const missingBits: Array<[Partition, number, number]> = [];
    for (const batch of batches) {
      for (const id of batch.removed ?? []) this.remove(id);
      // Ids are unique within a batch: into an empty index, none can need replacing.
      const fresh = this.size === 0;
      const partitions = batch.partitionKeys.map((key) => this.partition(key, 0));
      let i = 0;
      while (i < batch.ids.length) {
        const k = batch.partitionOf[i]!;
        let end = i + 1;
        while (end < batch.ids.length && batch.partitionOf[end] === k) end++;
        if (!fresh) for (let j = i; j < end; j++) if (this.locations.has(batch.ids[j]!)) this.remove(batch.ids[j]!);
        // A removal may have emptied and dropped the partition since it was looked up.
        const partition = this.partitions.get(partitions[k]!.key) ?? this.partition(partitions[k]!.key, end - i);
        const bits = centre && batch.bits ? batch.bits.subarray(i * this.words, end * this.words) : undefined;
        const first = partition.append(
          batch.ids.slice(i, end),
          batch.codes.subarray(i * dimension, end * dimension),
          batch.scales.subarray(i, end),
          bits,
        );
        if (!bits) missingBits.push([partition, first, first + end - i]);
        const base = partition.number * SLOTS_PER_PARTITION + first - i;
        for (let j = i; j < end; j++) this.locations.set(batch.ids[j]!, base + j);
        i = end;
      }
    }
    // Partitions sized for vectors that were then removed may be empty.
    for (const partition of [...this.partitions.values()]) if (partition.size === 0) this.dropPartition(partition);
    if (centre) {
      this.centreVector.set(centre);
      this.centreCount = this.size;
      this.frozen = true;
      for (const [partition, from, to] of missingBits)
        if (this.partitions.get(partition.key) === partition) this.fillBits(partition, from, Math.min(to, partition.size));
      return;
    }
    const sum = this.sum;
    sum.fill(0);
    for (const partition of this.partitions.values()) {
      const { codes, scales } = partition;
      for (let slot = 0; slot < partition.size; slot++) {
        const scale = scales[slot]!;
        const base = slot * dimension;
        for (let d = 0; d < dimension; d++) sum[d]! += codes[base + d]! * scale;
      }
    }
    if (this.size > 0) this.recentre();
  }

  /** Copies of every vector (with bits once the centre is frozen), for rewriting the store. */
  *export(): IterableIterator<StoredVector> {
    for (const partition of this.partitions.values()) {
      for (let slot = 0; slot < partition.size; slot++) {
        yield {
          id: partition.ids[slot]!,
          partition: partition.key,
          codes: partition.codes.slice(slot * this.dimension, (slot + 1) * this.dimension),
          scale: partition.scales[slot]!,
          bits: this.frozen ? partition.bits.slice(slot * this.words, (slot + 1) * this.words) : undefined,
        };
      }
    }
  }

  remove(id: string): boolean {
    const location = this.locations.get(id);
    if (location === undefined) return false;
    const partition = this.byNumber[Math.floor(location / SLOTS_PER_PARTITION)]!;
    const slot = location % SLOTS_PER_PARTITION;
    const base = slot * this.dimension;
    const scale = partition.scales[slot]!;
    for (let i = 0; i < this.dimension; i++) this.sum[i]! -= partition.codes[base + i]! * scale;
    const moved = partition.removeAt(slot);
    if (moved !== undefined) this.locations.set(moved, partition.number * SLOTS_PER_PARTITION + slot);
    this.locations.delete(id);
    if (partition.size === 0) this.dropPartition(partition);
    return true;
  }

  private dropPartition(partition: Partition): void {
    this.partitions.delete(partition.key);
    this.byNumber[partition.number] = undefined;
    this.freeNumbers.push(partition.number);
  }

  clear(): void {
    this.partitions.clear();
    this.byNumber.length = 0;
    this.freeNumbers.length = 0;
    this.locations.clear();
    this.sum.fill(0);
    this.centreVector.fill(0);
    this.centreCount = 0;
    this.frozen = false;
    this.centreUnsaved = false;
  }

  /** The k most similar vectors inside one partition, best first. */
  search(key: string, query: Float32Array, k = 1): SearchResult[] {
    const partition = this.partitions.get(key);
    if (!partition || partition.size === 0) return [];
    if (query.length !== this.dimension) throw new Error(`query has ${query.length} dimensions, the index ${this.dimension}`);
    const candidates = partition.size <= EXACT_SCAN_LIMIT ? undefined : this.narrow(partition, query);
    return this.score(partition, query, k, candidates);
  }

  /** The partition of a key, created (with room for `expected` more vectors) when new. */
  private partition(key: string, expected: number): Partition {
    let partition = this.partitions.get(key);
    if (partition) {
      partition.reserve(partition.size + expected);
      return partition;
    }
    const number = this.freeNumbers.pop() ?? this.byNumber.length;
    partition = new Partition(key, number, this.dimension, this.words, Math.max(16, expected));
    this.partitions.set(key, partition);
    this.byNumber[number] = partition;
    return partition;
  }

  private recentre(): void {
    this.centreCount = this.size;
    for (let i = 0; i < this.dimension; i++) this.centreVector[i] = this.sum[i]! / this.size;
    for (const partition of this.partitions.values()) this.fillBits(partition, 0, partition.size);
    if (this.size >= FREEZE_CENTRE_AT) {
      this.frozen = true;
      this.centreUnsaved = true;
    }
  }

  /** Sign bits of stored vectors around the centre, for slots [from, to). */
  private fillBits(partition: Partition, from: number, to: number): void {
    const { codes, scales, bits } = partition;
    const dimension = this.dimension;
    const words = this.words;
    const centre = this.centreVector;
    const limits = new Int32Array(dimension);
    for (let slot = from; slot < to; slot++) {
      // In code space, with integer limits: code > c / scale exactly when code > floor(c / scale),
      // and (limit - code) >>> 31 gives that bit without a branch (random bits defeat prediction).
      const inverse = 1 / scales[slot]!;
      for (let i = 0; i < dimension; i++) limits[i] = Math.max(-256, Math.min(256, Math.floor(centre[i]! * inverse)));
      const base = slot * dimension;
      for (let w = 0; w < words; w++) {
        let word = 0;
        const start = w * 32;
        const end = Math.min(dimension, start + 32);
        for (let i = start; i < end; i++) word |= ((limits[i]! - codes[base + i]!) >>> 31) << (i - start);
        bits[slot * words + w] = word;
      }
    }
  }

  /** Sign bits of a query vector around the centre. */
  private queryBits(vector: Float32Array): Int32Array {
    const bits = new Int32Array(this.words);
    for (let w = 0; w < this.words; w++) {
      let word = 0;
      const end = Math.min(this.dimension, (w + 1) * 32);
      for (let i = w * 32; i < end; i++) if (vector[i]! > this.centreVector[i]!) word |= 1 << (i & 31);
      bits[w] = word;
    }
    return bits;
  }

  /** Slots whose sign bits are closest to the query's: the candidates worth an exact score. */
  private narrow(partition: Partition, query: Float32Array): Int32Array {
    const queryBits = this.queryBits(query);
    const words = this.words;
    const count = partition.size;
    const distances = new Uint16Array(count);
    const histogram = new Uint32Array(this.dimension + 1);
    const bits = partition.bits;
    for (let slot = 0; slot < count; slot++) {
      let distance = 0;
      const base = slot * words;
      for (let w = 0; w < words; w++) distance += popcount(queryBits[w]! ^ bits[base + w]!);
      distances[slot] = distance;
      histogram[distance]!++;
    }
    const wanted = Math.max(MIN_CANDIDATES, Math.ceil(count / 256));
    let cutoff = 0;
    for (let seen = 0; cutoff <= this.dimension; cutoff++) {
      seen += histogram[cutoff]!;
      if (seen >= wanted) break;
    }
    const candidates: number[] = [];
    for (let slot = 0; slot < count; slot++) if (distances[slot]! <= cutoff) candidates.push(slot);
    return Int32Array.from(candidates);
  }

  private score(partition: Partition, query: Float32Array, k: number, slots: Int32Array | undefined): SearchResult[] {
    const dimension = this.dimension;
    const codes = partition.codes;
    const best: SearchResult[] = [];
    const total = slots ? slots.length : partition.size;
    for (let n = 0; n < total; n++) {
      const slot = slots ? slots[n]! : n;
      const base = slot * dimension;
      let dot = 0;
      for (let i = 0; i < dimension; i++) dot += query[i]! * codes[base + i]!;
      // int8 rounding can push a self-match a hair past 1
      const score = Math.min(1, Math.max(-1, dot * partition.scales[slot]!));
      if (best.length < k || score > best[best.length - 1]!.score) {
        best.push({ id: partition.ids[slot]!, score });
        best.sort((a, b) => b.score - a.score);
        if (best.length > k) best.pop();
      }
    }
    return best;
  }
}
