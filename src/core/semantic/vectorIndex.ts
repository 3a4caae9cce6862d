/**
 * The in-memory search structure of the semantic cache: vectors grouped by
 * partition (a search never crosses one), stored as int8 codes with a scale per
 * vector (a quarter of float32's memory; the similarity error is about 1e-3).
 *
 * A small partition is scanned exactly. A large one is first narrowed with
 * binary codes (one sign bit per dimension, compared with popcount), then the
 * best few hundred candidates are scored exactly: a near-duplicate question has
 * a near-identical sign pattern, so it survives the narrowing, and a 100k-entry
 * partition is searched in a few milliseconds instead of tens.
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

class Partition {
  ids: string[] = [];
  codes: Int8Array;
  scales: Float32Array;
  bits: Int32Array;

  constructor(
    private readonly dimension: number,
    private readonly words: number,
    capacity = 16,
  ) {
    this.codes = new Int8Array(capacity * dimension);
    this.scales = new Float32Array(capacity);
    this.bits = new Int32Array(capacity * words);
  }

  get size(): number {
    return this.ids.length;
  }

  /** Appends a vector; returns its slot. */
  push(id: string, codes: Int8Array, scale: number, bits: Int32Array): number {
    const slot = this.ids.length;
    if (slot === this.scales.length) this.grow();
    this.ids.push(id);
    this.codes.set(codes, slot * this.dimension);
    this.scales[slot] = scale;
    this.bits.set(bits, slot * this.words);
    return slot;
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

  private grow(): void {
    const capacity = this.scales.length * 2;
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

export class VectorIndex {
  private readonly partitions = new Map<string, Partition>();
  private readonly locations = new Map<string, { partition: string; slot: number }>();
  private readonly words: number;
  /** The centre the sign bits are taken around; re-estimated as the index grows. */
  private centre: Float32Array;
  private readonly sum: Float64Array;
  private centreCount = 0;

  constructor(readonly dimension: number) {
    if (!Number.isInteger(dimension) || dimension <= 0) throw new Error(`invalid vector dimension ${dimension}`);
    this.words = Math.ceil(dimension / 32);
    this.centre = new Float32Array(dimension);
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
    return this.locations.get(id)?.partition;
  }

  ids(): IterableIterator<string> {
    return this.locations.keys();
  }

  /** Adds a normalized vector, replacing any vector already stored under the id. */
  add(id: string, partition: string, vector: Float32Array): void {
    if (vector.length !== this.dimension) throw new Error(`vector has ${vector.length} dimensions, the index ${this.dimension}`);
    const { codes, scale } = quantize(vector);
    this.addQuantized(id, partition, codes, scale);
  }

  /** Adds a vector already in int8 form (as persisted). */
  addQuantized(id: string, partition: string, codes: Int8Array, scale: number): void {
    this.insert(id, partition, codes, scale);
    // Re-centre the sign bits each time the index doubles: cheap amortized, and the
    // bits stay informative when every vector shares a common direction.
    if (this.size >= 64 && this.size >= 2 * this.centreCount) this.recentre();
  }

  /** Adds many persisted vectors, centring the sign bits once at the end. */
  load(vectors: Iterable<{ id: string; partition: string; codes: Int8Array; scale: number }>): void {
    for (const vector of vectors) this.insert(vector.id, vector.partition, vector.codes, vector.scale);
    if (this.size > 0) this.recentre();
  }

  private insert(id: string, partition: string, codes: Int8Array, scale: number): void {
    if (codes.length !== this.dimension) throw new Error(`vector has ${codes.length} dimensions, the index ${this.dimension}`);
    this.remove(id);
    for (let i = 0; i < this.dimension; i++) this.sum[i]! += codes[i]! * scale;
    let target = this.partitions.get(partition);
    if (!target) {
      target = new Partition(this.dimension, this.words);
      this.partitions.set(partition, target);
    }
    const slot = target.push(id, codes, scale, this.signBits(codes, scale));
    this.locations.set(id, { partition, slot });
  }

  remove(id: string): boolean {
    const location = this.locations.get(id);
    if (!location) return false;
    const partition = this.partitions.get(location.partition)!;
    const base = location.slot * this.dimension;
    const scale = partition.scales[location.slot]!;
    for (let i = 0; i < this.dimension; i++) this.sum[i]! -= partition.codes[base + i]! * scale;
    const moved = partition.removeAt(location.slot);
    if (moved !== undefined) this.locations.get(moved)!.slot = location.slot;
    this.locations.delete(id);
    if (partition.size === 0) this.partitions.delete(location.partition);
    return true;
  }

  clear(): void {
    this.partitions.clear();
    this.locations.clear();
    this.sum.fill(0);
    this.centre.fill(0);
    this.centreCount = 0;
  }

  /** The k most similar vectors inside one partition, best first. */
  search(partition: string, query: Float32Array, k = 1): SearchResult[] {
    const target = this.partitions.get(partition);
    if (!target || target.size === 0) return [];
    if (query.length !== this.dimension) throw new Error(`query has ${query.length} dimensions, the index ${this.dimension}`);
    const candidates = target.size <= EXACT_SCAN_LIMIT ? undefined : this.narrow(target, query);
    return this.score(target, query, k, candidates);
  }

  private signBits(vector: Float32Array | Int8Array, scale = 1): Int32Array {
    const bits = new Int32Array(this.words);
    for (let i = 0; i < this.dimension; i++) {
      if (vector[i]! * scale > this.centre[i]!) bits[i >>> 5]! |= 1 << (i & 31);
    }
    return bits;
  }

  private recentre(): void {
    this.centreCount = this.size;
    for (let i = 0; i < this.dimension; i++) this.centre[i] = this.sum[i]! / this.size;
    for (const partition of this.partitions.values()) {
      for (let slot = 0; slot < partition.size; slot++) {
        const codes = partition.codes.subarray(slot * this.dimension, (slot + 1) * this.dimension);
        partition.bits.set(this.signBits(codes, partition.scales[slot]!), slot * this.words);
      }
    }
  }

  /** Slots whose sign bits are closest to the query's: the candidates worth an exact score. */
  private narrow(partition: Partition, query: Float32Array): Int32Array {
    const queryBits = this.signBits(query);
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
