/**
 * Whether a stored answer was right for a question: judged against the upstream's own
 * answer to that question. A judge that cannot tell (the model not loaded, the upstream
 * failing) says nothing, and nothing is recorded: never "right" by default.
 */
import { answerText, normalizedAnswer } from '../../openai/answerText';
import type { Endpoint, JsonObject } from '../../types';

export const ANSWER_JUDGES = ['embedding', 'exact', 'llm'] as const;
export type AnswerJudgeKind = (typeof ANSWER_JUDGES)[number];

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

/**
 * The same meaning: the cosine of the two answers' embeddings at least `threshold` (the
 * staleness comparison's). Identical text is right without a model.
 */
export class EmbeddingJudge implements AnswerJudge {
  readonly kind = 'embedding';

  constructor(
    private readonly similarity: TextSimilarity,
    private readonly threshold: number,
  ) {}

  async judge(input: JudgeInput): Promise<boolean | undefined> {
    const stored = normalizedAnswer(answerText(input.stored));
    const fresh = normalizedAnswer(answerText(input.fresh));
    if (stored === fresh) return true;
    const similarity = await this.similarity(stored, fresh).catch(() => undefined);
    return similarity === undefined ? undefined : similarity >= this.threshold;
  }
}
