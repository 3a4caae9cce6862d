import { answerText } from '../core/openai/answerText';
import type { AnswerJudge, JudgeInput } from '../core/semantic/judge/answerJudge';
import type { Logger } from '../core/logger';
import { isObject, type JsonObject, type JsonValue } from '../core/types';
import { readBody, type Upstream } from './upstream';

/** The longest answer text handed to the judge, per answer (its context is the upstream's). */
const MAX_ANSWER_CHARS = 6000;
const MAX_REPLY_BYTES = 1024 * 1024;

/** What the judge calls have cost: calls made, calls that gave no verdict, tokens spent. */
export interface JudgeCost {
  calls: number;
  failures: number;
  promptTokens: number;
  completionTokens: number;
}

const clip = (text: string) => (text.length > MAX_ANSWER_CHARS ? `${text.slice(0, MAX_ANSWER_CHARS)} […]` : text);

/**
 * Asks the upstream model once, at temperature 0 and a few tokens, whether two answers to a
 * question say the same thing: for open-ended answers an embedding cannot compare. Its cost
 * is counted; an error, a timeout or a reply that is neither yes nor no is no verdict.
 */
export class LlmJudge implements AnswerJudge {
  readonly kind = 'llm';
  readonly cost: JudgeCost = { calls: 0, failures: 0, promptTokens: 0, completionTokens: 0 };

  constructor(
    private readonly upstream: Upstream,
    private readonly logger: Logger,
  ) {}

  async judge(input: JudgeInput): Promise<boolean | undefined> {
    this.cost.calls++;
    try {
      const verdict = await this.ask(input);
      if (verdict === undefined) this.cost.failures++;
      return verdict;
    } catch (error) {
      this.cost.failures++;
      this.logger.debug('the answer judge got no verdict', { error });
      return undefined;
    }
  }

  private async ask(input: JudgeInput): Promise<boolean | undefined> {
    const body = {
      model: input.model,
      temperature: 0,
      max_tokens: 3,
      messages: [
        {
          role: 'system',
          content:
            'You compare two answers to the same question. Reply with one word: yes if they give the same answer (the same facts, the same conclusion, wording aside), no otherwise.',
        },
        {
          role: 'user',
          content: `Question:\n${clip(input.question)}\n\nAnswer A:\n${clip(answerText(input.stored))}\n\nAnswer B:\n${clip(answerText(input.fresh))}\n\nDo A and B give the same answer to the question? Reply with yes or no.`,
        },
      ],
    };
    const headers: Record<string, string> = { 'content-type': 'application/json', 'accept-encoding': 'identity' };
    if (input.authorization) headers.authorization = input.authorization;
    const response = await this.upstream.request({
      method: 'POST',
      path: '/chat/completions',
      headers,
      body: Buffer.from(JSON.stringify(body)),
    });
    const text = await readBody(response.body, MAX_REPLY_BYTES);
    if (response.status !== 200) return undefined;
    const reply = JSON.parse(text.toString('utf8')) as JsonObject;
    const usage = isObject(reply.usage) ? reply.usage : {};
    if (typeof usage.prompt_tokens === 'number') this.cost.promptTokens += usage.prompt_tokens;
    if (typeof usage.completion_tokens === 'number') this.cost.completionTokens += usage.completion_tokens;
    const word = /^\W*(yes|no)\b/i.exec(answerText(reply))?.[1]?.toLowerCase();
    return word === undefined ? undefined : word === 'yes';
  }
}
