import type { EntrySummaryDto } from '../../shared/protocol';
import { readAnatomy } from '../anatomy/promptAnatomy';
import { isObject, type CacheEntry, type JsonObject, type JsonValue } from '../types';

const PROMPT_CHARS = 2000;
const ANSWER_CHARS = 300;

/** The start of the stored answer, as a person would read it in a list. */
function answerPreview(entry: CacheEntry): string {
  const response = entry.response;
  if (entry.endpoint === 'embeddings') {
    const data = Array.isArray(response.data) ? response.data : [];
    return `${data.length} embedding${data.length === 1 ? '' : 's'}`;
  }
  const choice = Array.isArray(response.choices) && isObject(response.choices[0]) ? response.choices[0] : undefined;
  if (!choice) return '';
  if (typeof choice.text === 'string') return choice.text;
  const message = isObject(choice.message) ? choice.message : undefined;
  if (typeof message?.content === 'string' && message.content !== '') return message.content;
  if (Array.isArray(message?.tool_calls)) {
    const names = message.tool_calls.map((call) => (isObject(call) && isObject(call.function) ? String(call.function.name) : '?'));
    return `tool call: ${names.join(', ')}`;
  }
  return '';
}

/** What the entries browser lists for an entry. */
export function summarize(entry: CacheEntry, lastHitAt: number | null = null, hits = 0): EntrySummaryDto {
  // The user's own question, without what a tool wrapped around it (environment details, rules).
  const question = readAnatomy(entry.endpoint, entry.request).question;
  let prompt = question?.regions.map((region) => question.text.slice(region.start, region.end)).join('\n');
  if (prompt === undefined && entry.endpoint === 'embeddings') {
    const input = entry.request.input;
    prompt = typeof input === 'string' ? input : Array.isArray(input) ? input.filter((item) => typeof item === 'string').join(' | ') : '';
  }
  return {
    id: entry.id,
    endpoint: entry.endpoint,
    model: entry.model,
    prompt: (prompt ?? '').slice(0, PROMPT_CHARS),
    answer: answerPreview(entry).slice(0, ANSWER_CHARS),
    createdAt: entry.createdAt,
    expiresAt: entry.expiresAt,
    lastHitAt,
    hits,
    size: JSON.stringify(entry.request).length + JSON.stringify(entry.response).length,
  };
}
