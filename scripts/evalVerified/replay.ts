/**
 * The stream semantics, run through the real code: VectorIndex for the nearest stored
 * question, a SemanticDecision for what to do with it, an ObservationBook for what was
 * learned. One function for every stream, embedder and policy.
 *
 * - A query whose exact text arrived before is an exact hit: the exact cache answers it,
 *   the semantic level never sees it.
 * - A query without a vector (the model would truncate it) is forwarded: counted apart.
 * - Otherwise the nearest stored question (one partition for the whole stream) is judged
 *   by the decision: exploit serves its answer (right when the labels match; the query is
 *   not stored); explore forwards the request, records whether the stored answer would have
 *   been right, and stores the query; miss stores the query; with nothing stored yet the
 *   query is stored.
 * - Like the gateway, a sampled share of served hits is revalidated: the upstream's answer
 *   to the new question says whether the served one was right, and that observation goes
 *   into the book too.
 * - What the decision reads is the nearest question's similarity (Deja's), or, to measure a
 *   remedy for the drift BENCHMARKS.md describes, its distinctness: how far the nearest
 *   question stands out from the other stored ones (see `distinctness`).
 */
import { type ObservationBook } from '../../src/core/semantic/decision/observationBook';
import type { SemanticDecision } from '../../src/core/semantic/decision/semanticDecision';
import { VectorIndex } from '../../src/core/semantic/vectorIndex';
import { seededRandom } from '../../test/fixtures/seededRandom';
import type { PreparedStream } from './streams';

export const PARTITION = 'eval';
export const GROUP = 'eval';

/** What the decision is given for the nearest stored question. */
export const COVARIATES = ['similarity', 'distinctness'] as const;
export type Covariate = (typeof COVARIATES)[number];

/** Distinctness measures the nearest question against the one at this rank. */
export const DISTINCTNESS_RANK = 40;

/**
 * 1 − d₁ / d_K, with d = 1 − similarity, d₁ the nearest stored question's distance and d_K
 * the distance of the K-th nearest (K = DISTINCTNESS_RANK): near 1 when the nearest question
 * stands out from its neighbours, near 0 when it is merely the best of many alike (a ratio
 * test, as in Lowe's feature matching). As the index grows, d₁ and d_K shrink together, where
 * a raw similarity creeps up for unrelated questions. Undefined while fewer than K + 1
 * questions are stored. `scores` are the similarities of the nearest questions, best first.
 */
export function distinctness(scores: readonly number[]): number | undefined {
  if (scores.length <= DISTINCTNESS_RANK) return undefined;
  const nearest = Math.max(0, 1 - scores[0]!);
  const background = Math.max(Number.EPSILON, 1 - scores[DISTINCTNESS_RANK]!);
  return Math.min(1, Math.max(0, 1 - nearest / background));
}

export interface RunMetrics {
  queries: number;
  exact: number;
  /** Queries the embedder gave no vector (forwarded, never stored semantically). */
  unembedded: number;
  /** Queries that reached the semantic level. */
  semantic: number;
  served: number;
  wrong: number;
  explorations: number;
  revalidated: number;
}

export interface ReplayOptions {
  decision: SemanticDecision;
  /** The book the decision reads, when it learns (verified); observations go there. */
  book?: ObservationBook;
  /** Share of served hits that are also judged and learned from. */
  revalidateShare: number;
  revalidateSeed: number;
  /**
   * Whether an exploration stores the query: always (Deja's semantics, the default), or only
   * when the stored answer turned out wrong (vCache's: a right one only teaches its entry).
   */
  storeOnExplore?: 'always' | 'when-wrong';
  /** What the decision reads: the nearest question's similarity (the default) or its distinctness. */
  covariate?: Covariate;
  /**
   * Below this similarity the nearest question is a plain miss, decided here: for a decision
   * that reads distinctness, whose own floor would read distinctness too.
   */
  similarityFloor?: number;
}

export const wrongShare = (run: Pick<RunMetrics, 'served' | 'wrong'>): number => (run.served === 0 ? 0 : run.wrong / run.served);
export const hitRate = (run: Pick<RunMetrics, 'served' | 'semantic'>): number => (run.semantic === 0 ? 0 : run.served / run.semantic);

/** Replays `stream` in `order` (indices into its queries); vectors by text id. */
export function replay(
  stream: PreparedStream,
  order: readonly number[],
  vectors: ReadonlyArray<Float32Array | undefined>,
  dimension: number,
  options: ReplayOptions,
): RunMetrics {
  const { decision, book } = options;
  const index = new VectorIndex(dimension);
  const random = seededRandom(options.revalidateSeed);
  const seen = new Uint8Array(stream.texts.length);
  /** The label of each stored entry, by text id (an entry's id is its text id). */
  const storedLabel = new Map<string, number>();
  const run: RunMetrics = {
    queries: order.length,
    exact: 0,
    unembedded: 0,
    semantic: 0,
    served: 0,
    wrong: 0,
    explorations: 0,
    revalidated: 0,
  };
  order.forEach((position, at) => {
    const query = stream.queries[position]!;
    if (seen[query.text]) {
      run.exact++;
      return;
    }
    seen[query.text] = 1;
    const vector = vectors[query.text];
    if (!vector) {
      run.unembedded++;
      return;
    }
    run.semantic++;
    const id = String(query.text);
    const store = () => {
      index.add(id, PARTITION, vector);
      storedLabel.set(id, query.label);
    };
    const byDistinctness = options.covariate === 'distinctness';
    const neighbours = index.search(PARTITION, vector, byDistinctness ? DISTINCTNESS_RANK + 1 : 1);
    const nearest = neighbours[0];
    if (!nearest) return store();
    const covariate = byDistinctness ? distinctness(neighbours.map((neighbour) => neighbour.score)) : nearest.score;
    if (covariate === undefined || nearest.score < (options.similarityFloor ?? 0)) return store();
    const right = storedLabel.get(nearest.id) === query.label;
    const observe = () => book?.add(nearest.id, GROUP, { similarity: covariate, correct: right, at });
    const { action } = decision.decide({ entryId: nearest.id, similarity: covariate, group: GROUP });
    switch (action) {
      case 'exploit':
        run.served++;
        if (!right) run.wrong++;
        if (book && random() < options.revalidateShare) {
          run.revalidated++;
          observe();
        }
        return;
      case 'explore':
        run.explorations++;
        observe();
        if (right && options.storeOnExplore === 'when-wrong') return;
        return store();
      case 'miss':
        return store();
    }
  });
  return run;
}
