import { applyEdits, maskToken, maskVolatile } from '../anatomy/maskVolatile';
import { readAnatomy, type PromptAnatomy, type VolatileMask } from '../anatomy/promptAnatomy';
import { hexDigest } from '../digest';
import { canonicalJson } from '../cacheKey';
import type { ExactNumber } from '../exactNumbers';
import { isObject, type CacheEntry, type Endpoint, type JsonObject, type JsonValue } from '../types';

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

function partitionOf(
  endpoint: Endpoint,
  tenant: string,
  context: JsonObject,
  positions: Array<[string, number]> | undefined,
  exact: readonly ExactNumber[] | undefined,
): string {
  const masked = positions?.length ? `\n${JSON.stringify(positions)}` : '';
  // A seed past 2^53 (any number a double does not keep) separates partitions as it separates keys.
  const material = `deja:semantic:v1\n${endpoint}\n${tenant}\n${canonicalJson(context, exact)}${masked}`;
  return hexDigest('sha256', material).slice(0, 32);
}

/**
 * The question of a request a tool wrapped: its own words are embedded, and everything the
 * tool put around them (environment, attached files, rules) joins the partition, with the
 * volatile values masked as in the exact key. Undefined when the last user message holds no
 * question of the user's (an agent's later turn, only tool results).
 */
function wrappedQuery(
  endpoint: Endpoint,
  tenant: string,
  keyed: JsonObject,
  anatomy: PromptAnatomy,
  masks: readonly VolatileMask[],
  exact: readonly ExactNumber[] | undefined,
): SemanticQuery | undefined {
  const messages = keyed.messages as JsonValue[];
  const lastIndex = messages.length - 1;
  const question = anatomy.question;
  if (!question || question.field !== `messages[${lastIndex}].content` || question.regions.length === 0) return undefined;
  const last = messages[lastIndex] as JsonObject;
  if (plainText(last.content) === undefined) return undefined;
  const text = question.regions.map((region) => question.text.slice(region.start, region.end)).join('\n');
  if (text.trim() === '') return undefined;
  // The last message's context: its text with the question cut out and its volatile values masked.
  const partOffsets: number[] = [];
  let offset = 0;
  const parts = typeof last.content === 'string' ? [last.content] : (last.content as JsonObject[]).map((part) => part.text as string);
  for (const part of parts) {
    partOffsets.push(offset);
    offset += part.length + 1;
  }
  const edits = question.regions.map((region) => ({ start: region.start, end: region.end, text: PLACEHOLDER }));
  const inLastContent = (mask: VolatileMask) => mask.path[1] === lastIndex && mask.path[2] === 'content';
  for (const mask of masks) {
    if (!inLastContent(mask)) continue;
    const partOffset = typeof mask.path[3] === 'number' ? partOffsets[mask.path[3]]! : 0;
    for (const value of mask.values)
      edits.push({ start: partOffset + value.start, end: partOffset + value.end, text: maskToken(value.kind) });
  }
  edits.sort((a, b) => a.start - b.start);
  const context = applyEdits(question.text, edits).text;
  const earlier = maskVolatile(
    keyed,
    masks.filter((mask) => !inLastContent(mask)),
  );
  const base = earlier?.masked ?? keyed;
  const contextBody: JsonObject = { ...base, messages: [...(base.messages as JsonValue[]).slice(0, -1), { ...last, content: context }] };
  return { text, partition: partitionOf(endpoint, tenant, contextBody, earlier?.positions, exact) };
}

/**
 * The semantic view of a keyed request, or undefined when the request is not a
 * question that a paraphrase could answer: embeddings, a conversation that does not
 * end with a user's text, a token-id prompt, an empty question. `anatomy` is read from
 * the body when not given; `masks` are the volatile values masked in its key (none by default);
 * `exact` the numbers of the body a double does not keep, as the client wrote them.
 */
export function semanticQueryFor(
  endpoint: Endpoint,
  tenant: string,
  keyed: JsonObject,
  anatomy?: PromptAnatomy,
  masks?: readonly VolatileMask[],
  exact?: readonly ExactNumber[],
): SemanticQuery | undefined {
  if (endpoint === 'chat.completions') {
    const messages = keyed.messages;
    if (!Array.isArray(messages) || messages.length === 0) return undefined;
    const last = messages[messages.length - 1];
    if (!isObject(last) || last.role !== 'user') return undefined;
    const read = anatomy ?? readAnatomy(endpoint, keyed);
    if (read.wrapped) return wrappedQuery(endpoint, tenant, keyed, read, masks ?? [], exact);
    const text = plainText(last.content);
    if (text === undefined || text.trim() === '') return undefined;
    const earlier = masks?.length ? maskVolatile(keyed, masks) : undefined;
    const base = earlier?.masked ?? keyed;
    const context: JsonObject = { ...base, messages: [...(base.messages as JsonValue[]).slice(0, -1), { ...last, content: PLACEHOLDER }] };
    return { text, partition: partitionOf(endpoint, tenant, context, earlier?.positions, exact) };
  }
  if (endpoint === 'completions') {
    const prompt = keyed.prompt;
    const text =
      typeof prompt === 'string'
        ? prompt
        : Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string'
          ? prompt[0]
          : undefined;
    if (text === undefined || text.trim() === '') return undefined;
    return { text, partition: partitionOf(endpoint, tenant, { ...keyed, prompt: PLACEHOLDER }, undefined, exact) };
  }
  return undefined;
}

/** The semantic view of a stored entry, read as the request that stored it was: masked where its key was. */
export function semanticQueryOfEntry(entry: CacheEntry): SemanticQuery | undefined {
  const anatomy = readAnatomy(entry.endpoint, entry.request);
  return semanticQueryFor(
    entry.endpoint,
    entry.tenant,
    entry.request,
    anatomy,
    entry.normalized?.length ? anatomy.volatile : [],
    entry.exactNumbers,
  );
}
