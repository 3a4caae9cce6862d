/**
 * Whether a stored answer was right for a question: judged against the upstream's own
 * answer to that question. A judge that cannot tell (the model not loaded, the upstream
 * failing) says nothing, and nothing is recorded: never "right" by default.
 */
import { cosineOfUnit } from '../../embeddings/embedder';
import { answerText, normalizedAnswer } from '../../openai/answerText';
import type { AnswerJudgeDto } from '../../../shared/protocol';
import type { Endpoint, JsonObject } from '../../types';

/** The judges (`ANSWER_JUDGES` in the protocol). */
export type AnswerJudgeKind = AnswerJudgeDto;

export interface JudgeInput {
  endpoint: Endpoint;
  model: string;
  /** The question the answers are to (what the user asked this time). */
  question: string;
  /** The stored answer that was, or would have been, served. */
  stored: JsonObject;
  /** The upstream's answer to this question. */
  fresh: JsonObject;
  /** The credential the request went upstream with, for a judge that asks the upstream. */
  authorization: string | undefined;
}

export interface AnswerJudge {
  readonly kind: AnswerJudgeKind;
  /** True: the stored answer was right; false: wrong; undefined: the judge could not tell. */
  judge(input: JudgeInput): Promise<boolean | undefined>;
}

/** The same text once whitespace is collapsed, case aside: for classification and extraction, where answers are short and exact. */
export class ExactJudge implements AnswerJudge {
  readonly kind = 'exact';

  async judge(input: JudgeInput): Promise<boolean> {
    return normalizedAnswer(answerText(input.stored)).toLowerCase() === normalizedAnswer(answerText(input.fresh)).toLowerCase();
  }
}

/** Measures how alike two texts are (the cosine of their embeddings), or undefined when it cannot. */
export type TextSimilarity = (a: string, b: string) => Promise<number | undefined>;

/** Embeds texts into unit vectors, or gives undefined when it cannot (no model loaded, a text too long). */
export type AnswerEmbedder = (texts: string[]) => Promise<Float32Array[] | undefined>;

/** Whether the embedding model tells answers apart: how often answers to unrelated questions look the same to it. */
export interface DiscriminationCheck {
  /** Pairs of answers to different explorations compared so far (the latest 100 count). */
  pairs: number;
  /** The share of them at or above the threshold; null before any. */
  alikeShare: number | null;
  /** False once that share passes 20%: the judge then says nothing. */
  tellsApart: boolean;
}

/** Answers remembered to compare the next one with, and comparisons kept. */
const RECENT_ANSWERS = 16;
const PAIRS_KEPT = 100;
/** Judged only after this many pairs show the model tells answers apart (before, verdicts are trusted). */
const PAIRS_BEFORE_DOUBT = 10;
const ALIKE_LIMIT = 0.2;

/**
 * The same meaning: the cosine of the two answers' embeddings at least `threshold` (the
 * staleness comparison's). Identical text is right without a model.
 *
 * A judge is only as good as its model: one that cannot tell answers apart (a model whose
 * vectors all point one way, as the random-weight one the tests build) would call every wrong
 * answer right, and the verified mode would learn that everything may be served. So each answer
 * is also compared with the answer of an earlier, different exploration, which is almost
 * always about something else; once more than a fifth of those unrelated pairs look the same
 * (over the latest 100), the judge says nothing at all, and the stats say why; it keeps
 * comparing, and speaks again if the share falls back.
 */
export class EmbeddingJudge implements AnswerJudge {
  readonly kind = 'embedding';
  private readonly recent: Array<{ text: string; vector: Float32Array }> = [];
  private readonly alike: boolean[] = [];

  constructor(
    private readonly embed: AnswerEmbedder,
    private readonly threshold: number,
  ) {}

  async judge(input: JudgeInput): Promise<boolean | undefined> {
    const stored = normalizedAnswer(answerText(input.stored));
    const fresh = normalizedAnswer(answerText(input.fresh));
    // While the model cannot tell answers apart, nothing is said, not even for identical text:
    // only right answers would be recorded, and they would look like the whole.
    if (stored === fresh) return this.check().tellsApart ? true : undefined;
    const vectors = await this.embed([stored, fresh]).catch(() => undefined);
    if (!vectors || vectors.length !== 2) return undefined;
    this.compareWithUnrelated(fresh, vectors[1]!, stored);
    if (!this.check().tellsApart) return undefined;
    return cosineOfUnit(vectors[0]!, vectors[1]!) >= this.threshold;
  }

  check(): DiscriminationCheck {
    const pairs = this.alike.length;
    const alikeShare = pairs === 0 ? null : this.alike.filter(Boolean).length / pairs;
    return { pairs, alikeShare, tellsApart: pairs < PAIRS_BEFORE_DOUBT || alikeShare! <= ALIKE_LIMIT };
  }

  /** Scores the fresh answer against the latest remembered answer to something else, then remembers it. */
  private compareWithUnrelated(text: string, vector: Float32Array, stored: string): void {
    const other = this.recent.findLast((answer) => answer.text !== text && answer.text !== stored);
    if (other) {
      this.alike.push(cosineOfUnit(other.vector, vector) >= this.threshold);
      if (this.alike.length > PAIRS_KEPT) this.alike.shift();
    }
    if (!this.recent.some((answer) => answer.text === text)) {
      this.recent.push({ text, vector });
      if (this.recent.length > RECENT_ANSWERS) this.recent.shift();
    }
  }
}

/** The staleness comparison: the same meaning when the answers' cosine is at least `threshold`; identical text without a model. */
export class StalenessJudge {
  constructor(
    private readonly similarity: TextSimilarity,
    private readonly threshold: number,
  ) {}

  async judge(input: Pick<JudgeInput, 'stored' | 'fresh'>): Promise<boolean | undefined> {
    const stored = normalizedAnswer(answerText(input.stored));
    const fresh = normalizedAnswer(answerText(input.fresh));
    if (stored === fresh) return true;
    const similarity = await this.similarity(stored, fresh).catch(() => undefined);
    return similarity === undefined ? undefined : similarity >= this.threshold;
  }
}
