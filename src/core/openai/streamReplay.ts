import { isObject, type Endpoint, type JsonObject, type JsonValue } from '../types';
import { textPieces } from './textPieces';

type StreamedEndpoint = Exclude<Endpoint, 'embeddings'>;

export interface ReplayOptions {
  /** Append the usage chunk (`stream_options.include_usage`). */
  includeUsage: boolean;
}

/** Message fields streamed as text, in the order a reasoning model emits them. */
const REASONING_FIELDS = ['reasoning_content', 'reasoning'];
const TEXT_FIELDS_AFTER = ['content', 'refusal'];

function chatChoiceChunks(choice: JsonObject): JsonObject[] {
  const index = typeof choice.index === 'number' ? choice.index : 0;
  const message = isObject(choice.message) ? choice.message : {};
  const deltas: Array<{ delta: JsonObject; logprobs?: JsonValue }> = [];
  deltas.push({ delta: { role: typeof message.role === 'string' ? message.role : 'assistant', content: '' } });

  const streamField = (field: string): void => {
    const text = message[field];
    if (typeof text !== 'string' || text === '') return;
    // Logprobs belong to specific tokens; rather than re-align them, send the text whole with them.
    if (field === 'content' && choice.logprobs !== undefined && choice.logprobs !== null) {
      deltas.push({ delta: { content: text }, logprobs: choice.logprobs });
      return;
    }
    for (const piece of textPieces(text)) deltas.push({ delta: { [field]: piece } });
  };
  REASONING_FIELDS.forEach(streamField);
  TEXT_FIELDS_AFTER.forEach(streamField);

  if (Array.isArray(message.tool_calls)) {
    message.tool_calls.forEach((call, callIndex) => {
      if (!isObject(call)) return;
      const fn = isObject(call.function) ? call.function : {};
      const head: JsonObject = { index: callIndex, id: call.id ?? null, type: call.type ?? 'function' };
      head.function = { name: fn.name ?? '', arguments: '' };
      deltas.push({ delta: { tool_calls: [head] } });
      const args = typeof fn.arguments === 'string' ? fn.arguments : '';
      for (const piece of textPieces(args)) {
        deltas.push({ delta: { tool_calls: [{ index: callIndex, function: { arguments: piece } }] } });
      }
    });
  }

  const chunks = deltas.map(({ delta, logprobs }) => ({
    index,
    delta,
    logprobs: logprobs ?? null,
    finish_reason: null,
  }));
  const last: JsonObject = { index, delta: {}, logprobs: null, finish_reason: choice.finish_reason ?? 'stop' };
  if (choice.stop_reason !== undefined) last.stop_reason = choice.stop_reason;
  chunks.push(last as (typeof chunks)[number]);
  return chunks as JsonObject[];
}

function completionChoiceChunks(choice: JsonObject): JsonObject[] {
  const index = typeof choice.index === 'number' ? choice.index : 0;
  const text = typeof choice.text === 'string' ? choice.text : '';
  const chunks: JsonObject[] = [];
  if (choice.logprobs !== undefined && choice.logprobs !== null) {
    chunks.push({ index, text, logprobs: choice.logprobs, finish_reason: null });
  } else {
    for (const piece of textPieces(text)) chunks.push({ index, text: piece, logprobs: null, finish_reason: null });
  }
  const last: JsonObject = { index, text: '', logprobs: null, finish_reason: choice.finish_reason ?? 'stop' };
  if (choice.stop_reason !== undefined) last.stop_reason = choice.stop_reason;
  chunks.push(last);
  return chunks;
}

/**
 * Turns a stored JSON response into the chunks of an OpenAI stream: the role,
 * reasoning and content in natural-sized pieces, tool calls, the finish reason,
 * and the usage chunk when asked. The caller frames them as SSE and ends with `[DONE]`.
 */
export function replayChunks(endpoint: StreamedEndpoint, response: JsonObject, options: ReplayOptions): JsonObject[] {
  const chat = endpoint === 'chat.completions';
  const base: JsonObject = {
    id: response.id ?? null,
    object: chat ? 'chat.completion.chunk' : 'text_completion',
    created: response.created ?? Math.floor(Date.now() / 1000),
    model: response.model ?? null,
  };
  if (response.system_fingerprint !== undefined) base.system_fingerprint = response.system_fingerprint;
  const choices = Array.isArray(response.choices) ? response.choices.filter(isObject) : [];
  const chunks: JsonObject[] = [];
  for (const choice of choices) {
    const parts = chat ? chatChoiceChunks(choice) : completionChoiceChunks(choice);
    for (const part of parts) chunks.push({ ...base, choices: [part] });
  }
  if (options.includeUsage && isObject(response.usage)) chunks.push({ ...base, choices: [], usage: response.usage });
  return chunks;
}
