/**
 * What the semantic level does with the nearest stored question: answer from it (exploit),
 * forward the request and learn from the comparison (explore), or treat it as a plain miss.
 * Two ways to decide, behind one interface: a fixed similarity threshold (static), or a
 * bound on the chance of serving a wrong answer, learned from the upstream's own answers
 * (verified).
 */
import { chanceRightAtLeast, lowestSimilarityReaching } from './logisticFit';
import type { ObservationBook } from './observationBook';

export const SEMANTIC_MODES = ['verified', 'static'] as const;
export type SemanticMode = (typeof SEMANTIC_MODES)[number];

/** The nearest stored question, as the lookup found it. */
export interface Candidate {
  entryId: string;
  similarity: number;
  /** Entries whose observations pool: the same vector space and endpoint. */
  group: string;
}

export interface Decision {
  action: 'exploit' | 'explore' | 'miss';
  /** Verified: the lower bound on the chance that the entry's answer is right at this similarity. */
  confidence?: number;
}

export interface SemanticDecision {
  readonly mode: SemanticMode;
  decide(candidate: Candidate): Decision;
  /** Verified: from which similarity an entry is answered from, as learned so far (undefined: not yet). */
  threshold(entryId: string, group: string): number | undefined;
}

/** Today's behaviour: a hit at or above a fixed similarity, nothing learned. */
export class StaticDecision implements SemanticDecision {
  readonly mode = 'static';

  constructor(private readonly similarityThreshold: number) {}

  decide(candidate: Candidate): Decision {
    return { action: candidate.similarity >= this.similarityThreshold ? 'exploit' : 'miss' };
  }

  threshold(): number {
    return this.similarityThreshold;
  }
}

export interface VerifiedOptions {
  /** The chance of a wrong answer a served semantic hit may carry, at most. */
  maxFalseHitRate: number;
  /** Below this similarity the nearest question is not considered at all (a plain miss, nothing learned). */
  floor: number;
  /** Standard deviations of the curve's uncertainty taken off its estimate (1.645: one-sided 95%). */
  z: number;
}

export const DEFAULT_VERIFIED: Omit<VerifiedOptions, 'maxFalseHitRate'> = { floor: 0.7, z: 1.645 };

/**
 * Serves a semantic hit only when the chance that the entry's answer is right for a question
 * this similar is, with 95% confidence, at least 1 − δ; otherwise forwards the request and
 * learns from the upstream's answer. The chance comes from the entry's own observations,
 * starting from the curve pooled over its group while it has few.
 */
export class VerifiedDecision implements SemanticDecision {
  readonly mode = 'verified';

  constructor(
    private readonly book: ObservationBook,
    private readonly options: VerifiedOptions,
  ) {}

  decide(candidate: Candidate): Decision {
    if (candidate.similarity < this.options.floor) return { action: 'miss' };
    const fit = this.book.fitFor(candidate.entryId, candidate.group);
    const confidence = chanceRightAtLeast(fit, candidate.similarity, this.options.z);
    return { action: confidence >= 1 - this.options.maxFalseHitRate ? 'exploit' : 'explore', confidence };
  }

  threshold(entryId: string, group: string): number | undefined {
    const fit = this.book.fitFor(entryId, group);
    return lowestSimilarityReaching(fit, 1 - this.options.maxFalseHitRate, this.options.z, this.options.floor);
  }
}
