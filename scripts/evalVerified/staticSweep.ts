/**
 * Static thresholds, all at once. A static threshold learns nothing, so its outcome on a
 * stream is a pure function of the stream: but not of one pass's nearest-neighbour
 * similarities, because a served hit is not stored, so which questions are stored (and so
 * each later query's nearest) depends on the threshold. This module replays the stream
 * exactly for each threshold of a fine grid, cheaply, from a precomputed table of the
 * similarities the VectorIndex would report (the same int8 codes, the same arithmetic, the
 * same tie-breaking), and from each text's neighbours sorted by similarity. The evaluation
 * checks it against the real StaticDecision + VectorIndex replay.
 */
import { quantize } from '../../src/core/semantic/vectorIndex';
import { median } from './quantiles';
import { hitRate, wrongShare } from './replay';
import type { PreparedStream } from './streams';

/** Scores of every (query text, stored text), as VectorIndex.search computes them; NaN where a text has no vector. */
export interface SimilarityTable {
  size: number;
  scores: Float64Array;
}

export function similarityTable(vectors: ReadonlyArray<Float32Array | undefined>): SimilarityTable {
  const size = vectors.length;
  const scores = new Float64Array(size * size).fill(Number.NaN);
  const stored = vectors.map((vector) => {
    if (!vector) return undefined;
    const { codes, scale } = quantize(vector);
    // The index keeps the scale as float32.
    return { codes, scale: Math.fround(scale) };
  });
  for (let q = 0; q < size; q++) {
    const query = vectors[q];
    if (!query) continue;
    // Only the query's non-zero dimensions: skipping zero products leaves the sum (in the index's order) unchanged.
    const nonZero: number[] = [];
    query.forEach((value, i) => value !== 0 && nonZero.push(i));
    for (let e = 0; e < size; e++) {
      const entry = stored[e];
      if (!entry) continue;
      let dot = 0;
      for (const i of nonZero) dot += query[i]! * entry.codes[i]!;
      scores[q * size + e] = Math.min(1, Math.max(-1, dot * entry.scale));
    }
  }
  return { size, scores };
}

/** For each text, the other texts at or above `from`, most similar first (ties: lowest id first). */
export interface NeighbourLists {
  /** The lowest score kept: a sweep may not go below it. */
  from: number;
  ids: Int32Array[];
  scores: Float64Array[];
}

export function neighbourLists(table: SimilarityTable, from: number): NeighbourLists {
  const ids: Int32Array[] = [];
  const scores: Float64Array[] = [];
  const { size } = table;
  for (let q = 0; q < size; q++) {
    const row = table.scores.subarray(q * size, (q + 1) * size);
    const near: number[] = [];
    for (let e = 0; e < size; e++) if (e !== q && row[e]! >= from) near.push(e);
    near.sort((x, y) => row[y]! - row[x]! || x - y);
    ids.push(Int32Array.from(near));
    scores.push(Float64Array.from(near, (e) => row[e]!));
  }
  return { from, ids, scores };
}

/** A query that reaches the semantic level: the first arrival of a text with a vector. */
export interface Arrival {
  text: number;
  label: number;
}

/** The semantic-level arrivals of one order, with the counts the semantic level never sees. */
export function arrivalsOf(
  stream: PreparedStream,
  order: readonly number[],
  vectors: ReadonlyArray<Float32Array | undefined>,
): { arrivals: Arrival[]; exact: number; unembedded: number } {
  const seen = new Uint8Array(stream.texts.length);
  const arrivals: Arrival[] = [];
  let exact = 0;
  let unembedded = 0;
  for (const position of order) {
    const query = stream.queries[position]!;
    if (seen[query.text]) exact++;
    else if (!vectors[query.text]) unembedded++;
    else arrivals.push(query);
    seen[query.text] = 1;
  }
  return { arrivals, exact, unembedded };
}

export interface StaticOutcome {
  threshold: number;
  /** Queries that reached the semantic level. */
  semantic: number;
  served: number;
  wrong: number;
}

/** How many of a list's scores (sorted, highest first) are at least `threshold`. */
function countAtLeast(scores: Float64Array, threshold: number): number {
  let low = 0;
  let high = scores.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (scores[mid]! >= threshold) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * One static threshold replayed exactly. For each arrival, the nearest stored text is found
 * either by walking its neighbour list (those at or above the threshold) to the first stored
 * one, or by scanning the stored texts, whichever is shorter; ties go to the earliest stored,
 * as in VectorIndex.search.
 */
export function simulateStatic(
  arrivals: readonly Arrival[],
  table: SimilarityTable,
  lists: NeighbourLists,
  threshold: number,
): StaticOutcome {
  if (threshold < lists.from) throw new Error(`threshold ${threshold} is below the neighbour lists' ${lists.from}`);
  const { size, scores } = table;
  const storedAt = new Int32Array(size).fill(-1);
  const storedLabel = new Int32Array(size);
  const stored: number[] = [];
  let served = 0;
  let wrong = 0;
  for (const { text, label } of arrivals) {
    const ids = lists.ids[text]!;
    const listScores = lists.scores[text]!;
    const above = countAtLeast(listScores, threshold);
    let nearest = -1;
    if (above <= stored.length) {
      for (let k = 0; k < above; k++) {
        const e = ids[k]!;
        if (storedAt[e]! < 0) continue;
        nearest = e;
        // Equal scores further down: the earliest stored wins.
        for (let t = k + 1; t < above && listScores[t] === listScores[k]; t++) {
          const other = ids[t]!;
          if (storedAt[other]! >= 0 && storedAt[other]! < storedAt[nearest]!) nearest = other;
        }
        break;
      }
    } else {
      let best = Number.NEGATIVE_INFINITY;
      const row = text * size;
      for (const e of stored) {
        const score = scores[row + e]!;
        if (score > best) {
          best = score;
          nearest = e;
        }
      }
      if (best < threshold) nearest = -1;
    }
    if (nearest >= 0) {
      served++;
      if (storedLabel[nearest] !== label) wrong++;
    } else {
      storedAt[text] = stored.length;
      storedLabel[text] = label;
      stored.push(text);
    }
  }
  return { threshold, semantic: arrivals.length, served, wrong };
}

/** The fine grid the hindsight-best threshold is chosen from: 0.700, 0.701, ..., 0.999. */
export const FINE_GRID: readonly number[] = Array.from({ length: 300 }, (_, k) => (700 + k) / 1000);

/**
 * The static threshold a user with the labels would have picked for this order: the highest
 * hit rate whose wrong share is at most δ (ties: the lower wrong share, then the higher
 * threshold). When every threshold of the grid serves too many wrong answers (identical
 * vectors of different labels score 1), the best is to serve nothing: threshold +∞.
 */
export function hindsightBest(outcomes: readonly StaticOutcome[], maxWrongShare: number): StaticOutcome {
  let best: StaticOutcome | undefined;
  for (const outcome of outcomes) {
    if (wrongShare(outcome) > maxWrongShare) continue;
    if (
      !best ||
      outcome.served > best.served ||
      (outcome.served === best.served &&
        (wrongShare(outcome) < wrongShare(best) || (wrongShare(outcome) === wrongShare(best) && outcome.threshold > best.threshold)))
    )
      best = outcome;
  }
  return best ?? { threshold: Number.POSITIVE_INFINITY, semantic: outcomes[0]?.semantic ?? 0, served: 0, wrong: 0 };
}

/** The bar for a bound that holds: within δ in at least 19 orders of 20. */
export const HOLDING_SHARE = 19 / 20;

/**
 * One static threshold for every order of a stream, chosen with the labels of all of them:
 * among the grid's thresholds whose wrong share is at most δ in at least `holdingShare` of
 * the orders, the one with the highest median hit rate (ties: the higher threshold). It is
 * what a fixed threshold can do at best under the bar the verified decision is held to,
 * where the hindsight-best threshold is chosen again for every order, in-sample. Undefined
 * when the grid has no such threshold. `sweeps` holds, per order, the outcome at each
 * threshold of the same grid.
 */
export function holdingBest(
  sweeps: ReadonlyArray<readonly StaticOutcome[]>,
  maxWrongShare: number,
  holdingShare = HOLDING_SHARE,
): { threshold: number; outcomes: StaticOutcome[] } | undefined {
  let best: { threshold: number; outcomes: StaticOutcome[]; rate: number } | undefined;
  const thresholds = sweeps[0]?.length ?? 0;
  for (let at = 0; at < thresholds; at++) {
    const outcomes = sweeps.map((sweep) => sweep[at]!);
    const within = outcomes.filter((outcome) => wrongShare(outcome) <= maxWrongShare).length;
    if (within < holdingShare * outcomes.length) continue;
    const rate = median(outcomes.map(hitRate));
    const threshold = outcomes[0]!.threshold;
    if (!best || rate > best.rate || (rate === best.rate && threshold > best.threshold)) best = { threshold, outcomes, rate };
  }
  return best && { threshold: best.threshold, outcomes: best.outcomes };
}
