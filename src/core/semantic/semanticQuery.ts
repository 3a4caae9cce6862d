import { hexDigest } from '../digest';
import { canonicalJson } from '../cacheKey';
import type { Endpoint, JsonObject, JsonValue } from '../types';

/** What the semantic level compares: one question's text, inside the context that fixes everything else. */
export interface SemanticQuery {
  /** The text that is embedded: the last user message, or the completion prompt. */
  text: string;
  /**
   * Hash of everything but that text: endpoint, tenant, model, system prompt, every
   * earlier turn, tools, response format and sampling parameters. Two requests are
   * compared only when their partitions are equal.
   */
  partition: string;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Text of a message's content when it is only text; undefined when it carries anything else (images, audio). */
function plainText(content: JsonValue | undefined): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const texts: string[] = [];
  for (const part of content) {
    if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string') return undefined;
    texts.push(part.text);
  }
  return texts.join('\n');
}

const PLACEHOLDER = '\u0000deja:semantic-text\u0000';

function partitionOf(endpoint: Endpoint, tenant: string, context: JsonObject): string {
  const material = `deja:semantic:v1\n${endpoint}\n${tenant}\n${canonicalJson(context)}`;
  return hexDigest('sha256', material).slice(0, 32);
}

/**
 * The semantic view of a keyed request, or undefined when the request is not a
 * question that a paraphrase could answer: embeddings, a conversation that does not
 * end with a user's text, a token-id prompt, an empty question.
 */
export function semanticQueryFor(endpoint: Endpoint, tenant: string, keyed: JsonObject): SemanticQuery | undefined {
  if (endpoint === 'chat.completions') {
    const messages = keyed.messages;
    if (!Array.isArray(messages) || messages.length === 0) return undefined;
    const last = messages[messages.length - 1];
    if (!isObject(last) || last.role !== 'user') return undefined;
    const text = plainText(last.content);
    if (text === undefined || text.trim() === '') return undefined;
    const context: JsonObject = { ...keyed, messages: [...messages.slice(0, -1), { ...last, content: PLACEHOLDER }] };
    return { text, partition: partitionOf(endpoint, tenant, context) };
  }
  if (endpoint === 'completions') {
    const prompt = keyed.prompt;
    const text = typeof prompt === 'string' ? prompt : Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string' ? prompt[0] : undefined;
    if (text === undefined || text.trim() === '') return undefined;
    return { text, partition: partitionOf(endpoint, tenant, { ...keyed, prompt: PLACEHOLDER }) };
  }
  return undefined;
}
