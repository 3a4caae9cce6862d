/**
 * One stream × one embedder: every policy over every order, and the checks that keep the
 * numbers honest (the static sweep against the real StaticDecision replay).
 */
import { ObservationBook } from '../../src/core/semantic/decision/observationBook';
import { DEFAULT_VERIFIED, StaticDecision, VerifiedDecision } from '../../src/core/semantic/decision/semanticDecision';
import { GROUP, replay, type Covariate, type RunMetrics } from './replay';
import { seedOf } from './seeded';
import {
  arrivalsOf,
  FINE_GRID,
  hindsightBest,
  holdingBest,
  neighbourLists,
  similarityTable,
  simulateStatic,
  type SimilarityTable,
  type StaticOutcome,
} from './staticSweep';
import { ordersOf, type PreparedStream } from './streams';

export const DELTAS = [0.01, 0.02, 0.05] as const;
/** The static thresholds reported one by one (each is also a point of the fine grid). */
export const STATIC_THRESHOLDS: readonly number[] = [...Array.from({ length: 10 }, (_, k) => (80 + 2 * k) / 100), 0.99];

/** The point of FINE_GRID nearest to `threshold`; a threshold off the grid's range is an error. */
export function onFineGrid(threshold: number): number {
  const point = FINE_GRID.find((candidate) => Math.abs(candidate - threshold) < 0.0005);
  if (point === undefined) throw new RangeError(`a static threshold must be one of 0.700, 0.701, …, 0.999, got ${threshold}`);
  return point;
}

/** An entry id no run stores: served from its group's threshold. */
const NEW_ENTRY = 'not-an-entry';

export interface EvalConfig {
  orders: number;
  seed: number;
  revalidateShare: number;
  storeOnExplore: 'always' | 'when-wrong';
  covariate: Covariate;
  confidence: number;
  /** Static thresholds reported besides STATIC_THRESHOLDS, points of FINE_GRID (e.g. a threshold chosen on another stream). */
  extraStatics?: readonly number[];
}

export interface Overlap {
  /** Similarities of every pair of distinct texts sharing a label. */
  sameLabelPairs: number[];
  /** Each text's most similar text sharing its label (texts with such a partner only). */
  sameLabelNearest: number[];
  /** Each text's most similar text sharing none of its labels. */
  otherLabelNearest: number[];
}

export interface StreamResult {
  exact: number;
  unembedded: number;
  semantic: number;
  overlap: Overlap;
  /** Per δ, one run per order. */
  verified: Map<number, RunMetrics[]>;
  /**
   * Per δ and order, from which similarity verified would serve an entry it has no
   * observation of yet, after the whole stream (its group's threshold): +∞ when none.
   */
  learnedThreshold: Map<number, number[]>;
  /** Per δ, the hindsight-best static threshold of each order. */
  hindsight: Map<number, StaticOutcome[]>;
  /**
   * Per δ, one threshold for all orders, chosen with the labels: the best static threshold
   * that is within δ in at least 19 of 20 orders (see holdingBest); undefined when none is.
   */
  holding: Map<number, { threshold: number; outcomes: StaticOutcome[] } | undefined>;
  /** Per reported threshold, one outcome per order. */
  statics: Map<number, StaticOutcome[]>;
  /** The sweep against the real StaticDecision + VectorIndex replay, on the first order. */
  check: { compared: number; mismatches: string[] };
  seconds: { table: number; sweep: number; verified: number; check: number };
}

export function evaluateStream(
  stream: PreparedStream,
  vectors: ReadonlyArray<Float32Array | undefined>,
  dimension: number,
  config: EvalConfig,
  progress: (line: string) => void = () => {},
): StreamResult {
  const seconds = { table: 0, sweep: 0, verified: 0, check: 0 };
  const clock = (key: keyof typeof seconds, began: number) => (seconds[key] += (performance.now() - began) / 1000);

  let began = performance.now();
  const table = similarityTable(vectors);
  const lists = neighbourLists(table, FINE_GRID[0]!);
  const overlap = overlapOf(stream, table);
  clock('table', began);

  const orders = ordersOf(stream, config.orders, config.seed);
  const verified = new Map<number, RunMetrics[]>(DELTAS.map((delta) => [delta, []]));
  const learnedThreshold = new Map<number, number[]>(DELTAS.map((delta) => [delta, []]));
  const hindsight = new Map<number, StaticOutcome[]>(DELTAS.map((delta) => [delta, []]));
  const reported = [...new Set([...STATIC_THRESHOLDS, ...(config.extraStatics ?? []).map(onFineGrid)])].sort((a, b) => a - b);
  const statics = new Map<number, StaticOutcome[]>(reported.map((threshold) => [threshold, []]));
  const sweeps: StaticOutcome[][] = [];
  const check = { compared: 0, mismatches: [] as string[] };
  let counts = { exact: 0, unembedded: 0, semantic: 0 };

  orders.forEach((order, k) => {
    began = performance.now();
    const { arrivals, exact, unembedded } = arrivalsOf(stream, order, vectors);
    counts = { exact, unembedded, semantic: arrivals.length };
    const sweep = FINE_GRID.map((threshold) => simulateStatic(arrivals, table, lists, threshold));
    sweeps.push(sweep);
    for (const delta of DELTAS) hindsight.get(delta)!.push(hindsightBest(sweep, delta));
    const atThreshold = (threshold: number) => sweep.find((outcome) => outcome.threshold === threshold)!;
    for (const threshold of reported) statics.get(threshold)!.push(atThreshold(threshold));
    clock('sweep', began);

    began = performance.now();
    // The same revalidation draws for every δ of an order: the δs differ only in the decision.
    const revalidateSeed = seedOf(`${stream.name}#order${k}#revalidate`, config.seed);
    for (const delta of DELTAS) {
      const book = new ObservationBook();
      // The floor reads similarity: by distinctness the replay applies it, since the decision's own would read distinctness.
      const floorInReplay = config.covariate === 'distinctness';
      const decision = new VerifiedDecision(book, {
        ...DEFAULT_VERIFIED,
        confidence: config.confidence,
        floor: floorInReplay ? 0 : DEFAULT_VERIFIED.floor,
        maxFalseHitRate: delta,
      });
      verified.get(delta)!.push(
        replay(stream, order, vectors, dimension, {
          decision,
          book,
          revalidateShare: config.revalidateShare,
          revalidateSeed,
          storeOnExplore: config.storeOnExplore,
          covariate: config.covariate,
          similarityFloor: floorInReplay ? DEFAULT_VERIFIED.floor : undefined,
        }),
      );
      learnedThreshold.get(delta)!.push(decision.threshold(NEW_ENTRY, GROUP) ?? Number.POSITIVE_INFINITY);
    }
    clock('verified', began);

    if (k === 0) {
      began = performance.now();
      for (const threshold of STATIC_THRESHOLDS) {
        const real = replay(stream, order, vectors, dimension, {
          decision: new StaticDecision(threshold),
          revalidateShare: 0,
          revalidateSeed: 0,
        });
        const simulated = atThreshold(threshold);
        check.compared++;
        if (real.served !== simulated.served || real.wrong !== simulated.wrong || real.semantic !== simulated.semantic)
          check.mismatches.push(
            `${threshold}: replay ${real.served} served / ${real.wrong} wrong, sweep ${simulated.served} / ${simulated.wrong}`,
          );
      }
      clock('check', began);
    }
    progress(`order ${k + 1}/${orders.length}`);
  });
  const holding = new Map(DELTAS.map((delta) => [delta, holdingBest(sweeps, delta)]));
  return { ...counts, overlap, verified, learnedThreshold, hindsight, holding, statics, check, seconds };
}

/** How far apart the labels are for this embedder: same-label similarities against the nearest other-label ones. */
export function overlapOf(stream: PreparedStream, table: SimilarityTable): Overlap {
  const { size, scores } = table;
  // A text can carry several labels (a QQP question repeated across pairs).
  const labelsOf: number[][] = Array.from({ length: size }, () => []);
  for (const query of stream.queries) if (!labelsOf[query.text]!.includes(query.label)) labelsOf[query.text]!.push(query.label);
  const textsOf = new Map<number, number[]>();
  labelsOf.forEach((labels, text) =>
    labels.forEach((label) => {
      const texts = textsOf.get(label);
      if (texts) texts.push(text);
      else textsOf.set(label, [text]);
    }),
  );
  const embedded = (text: number) => !Number.isNaN(scores[text * size + text]!);
  const sameLabelPairs: number[] = [];
  for (const texts of textsOf.values()) {
    const usable = texts.filter(embedded);
    for (let i = 0; i < usable.length; i++)
      for (let j = i + 1; j < usable.length; j++) sameLabelPairs.push(scores[usable[i]! * size + usable[j]!]!);
  }
  const sameLabelNearest: number[] = [];
  const otherLabelNearest: number[] = [];
  for (let q = 0; q < size; q++) {
    if (!embedded(q)) continue;
    let same = Number.NEGATIVE_INFINITY;
    let other = Number.NEGATIVE_INFINITY;
    for (let e = 0; e < size; e++) {
      if (e === q || !embedded(e)) continue;
      const score = scores[q * size + e]!;
      if (labelsOf[e]!.some((label) => labelsOf[q]!.includes(label))) same = Math.max(same, score);
      else other = Math.max(other, score);
    }
    if (same > Number.NEGATIVE_INFINITY) sameLabelNearest.push(same);
    if (other > Number.NEGATIVE_INFINITY) otherLabelNearest.push(other);
  }
  return { sameLabelPairs, sameLabelNearest, otherLabelNearest };
}
