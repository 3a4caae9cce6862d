/**
 * What the semantic level does with the nearest stored question: answer from it (exploit),
 * forward the request and learn from the comparison (explore), or treat it as a plain miss.
 * Two ways to decide, behind one interface: a fixed similarity threshold (static), or a
 * bound on the chance of serving a wrong answer, learned from the upstream's own answers
 * (verified).
 */
import type { SemanticModeDto } from '../../../shared/protocol';
import type { ObservationBook } from './observationBook';
import { BINS, binOf, WrongAllowance } from './tailBound';

/** Verified or static (`SEMANTIC_MODES` in the protocol). */
export type SemanticMode = SemanticModeDto;

/** The nearest stored question, as the lookup found it. */
export interface Candidate {
  entryId: string;
  similarity: number;
  /** Entries whose observations pool: the same vector space and endpoint. */
  group: string;
}

export interface Decision {
  action: 'exploit' | 'explore' | 'miss';
  /** Verified: from which similarity the entry's group is served, once learned. */
  threshold?: number;
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
  /** How sure the test must be that the chance of a wrong answer is below the bound. */
  confidence: number;
}

export const DEFAULT_VERIFIED: Omit<VerifiedOptions, 'maxFalseHitRate'> = { floor: 0.7, confidence: 0.95 };

/** What a group has learned, as the threshold was last computed. */
export interface GroupLearning {
  /** Observations the group holds, and how many found the nearest answer wrong. */
  observations: number;
  wrong: number;
  /** From which similarity the group is served; undefined while no tail passes. */
  threshold: number | undefined;
  /** The fewest observations that can pass the test at all (every one right). */
  fewest: number;
}

interface GroupThreshold extends GroupLearning {
  thresholdBin: number | undefined;
  version: number;
}

/**
 * Serves a semantic hit only from a similarity at which the observed share of wrong answers
 * shows, with 95% confidence, that the chance of one is below δ (see tailBound.ts), and only
 * above the highest similarity at which this entry's own answer was seen wrong; otherwise,
 * above the floor, forwards the request and learns from the upstream's answer.
 */
export class VerifiedDecision implements SemanticDecision {
  readonly mode = 'verified';
  private readonly allowance: WrongAllowance;
  private readonly thresholds = new Map<string, GroupThreshold>();

  constructor(
    private readonly book: ObservationBook,
    private readonly options: VerifiedOptions,
  ) {
    this.allowance = new WrongAllowance(options.maxFalseHitRate, options.confidence);
  }

  decide(candidate: Candidate): Decision {
    if (candidate.similarity < this.options.floor) return { action: 'miss' };
    const learned = this.learned(candidate.group);
    const from = learned?.threshold;
    // Compared bin to bin: a threshold serves exactly the similarities its tail counted.
    if (learned?.thresholdBin === undefined || binOf(candidate.similarity) < learned.thresholdBin)
      return { action: 'explore', threshold: from };
    const wrong = this.book.highestWrong(candidate.entryId);
    if (wrong !== undefined && candidate.similarity <= wrong) return { action: 'explore', threshold: from };
    return { action: 'exploit', threshold: from };
  }

  threshold(entryId: string, group: string): number | undefined {
    const from = this.groupThreshold(group);
    const wrong = this.book.highestWrong(entryId);
    // At the group's threshold or above, and strictly above a similarity at which this entry was seen wrong.
    return from === undefined || wrong === undefined ? from : Math.max(from, wrong);
  }

  /** From which similarity a group is served, as learned so far. */
  groupThreshold(group: string): number | undefined {
    return this.learned(group)?.threshold;
  }

  /** What a group has learned. */
  learning(group: string): GroupLearning {
    const { observations, wrong, threshold, fewest } = this.learned(group) ?? {
      observations: 0,
      wrong: 0,
      threshold: undefined,
      fewest: this.allowance.fewest,
    };
    return { observations, wrong, threshold, fewest };
  }

  /** What a group has learned, read again whenever its observations changed (one pass over the histogram's bins). */
  private learned(group: string): GroupThreshold | undefined {
    const book = this.book.group(group);
    if (!book) return undefined;
    const cached = this.thresholds.get(group);
    if (cached?.version === book.version) return cached;
    const bin = book.histogram.certifiedBin(this.allowance);
    const learned: GroupThreshold = {
      observations: book.histogram.count,
      wrong: book.histogram.wrong,
      threshold: bin === undefined ? undefined : bin / BINS,
      thresholdBin: bin,
      fewest: this.allowance.fewest,
      version: book.version,
    };
    this.thresholds.set(group, learned);
    return learned;
  }
}
