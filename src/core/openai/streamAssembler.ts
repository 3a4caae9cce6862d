import { isObject, type Endpoint, type JsonObject, type JsonValue } from '../types';

type StreamedEndpoint = Exclude<Endpoint, 'embeddings'>;

/** Sets a key as an own data property, whatever its name (`__proto__` included). */
function put(target: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Appends arrays, concatenates strings, merges objects; anything else: last non-null wins. */
function mergeValue(previous: JsonValue | undefined, next: JsonValue): JsonValue {
  if (previous === undefined || previous === null) return cloneJson(next);
  if (next === null) return previous;
  if (typeof previous === 'string' && typeof next === 'string') return previous + next;
  if (Array.isArray(previous) && Array.isArray(next)) return previous.concat(cloneJson(next) as JsonValue[]);
  if (isObject(previous) && isObject(next)) {
    for (const key of Object.keys(next)) put(previous, key, mergeValue(previous[key], next[key] as JsonValue));
    return previous;
  }
  return cloneJson(next);
}

function cloneJson(value: JsonValue): JsonValue {
  return value === null || typeof value !== 'object' ? value : (JSON.parse(JSON.stringify(value)) as JsonValue);
}

/** Tool-call deltas are keyed by `index`: the first carries id, type and name, the rest add arguments. */
function mergeToolCalls(previous: JsonValue | undefined, deltas: JsonValue): JsonValue[] {
  const calls: JsonObject[] = Array.isArray(previous) ? (previous as JsonObject[]) : [];
  if (!Array.isArray(deltas)) return calls;
  for (const delta of deltas) {
    if (!isObject(delta)) continue;
    const index = typeof delta.index === 'number' ? delta.index : calls.length;
    let call = calls.find((candidate) => candidate.__index === index);
    if (!call) {
      call = { __index: index };
      calls.push(call);
    }
    for (const key of Object.keys(delta)) {
      if (key === 'index') continue;
      put(call, key, mergeValue(call[key], delta[key] as JsonValue));
    }
  }
  return calls;
}

interface ChoiceState {
  index: number;
  fields: JsonObject;
}

/**
 * Rebuilds the complete response a non-streaming call would have returned from
 * the chunks of a streamed one: content, `reasoning_content` (or `reasoning`),
 * tool calls, logprobs, finish reason and usage.
 */
export class StreamAssembler {
  private readonly top: JsonObject = {};
  private readonly choices = new Map<number, ChoiceState>();
  private usage: JsonValue | undefined;
  private chunkCount = 0;

  constructor(private readonly endpoint: StreamedEndpoint) {}

  /** How many chunks were pushed. */
  get chunks(): number {
    return this.chunkCount;
  }

  push(chunk: JsonObject): void {
    this.chunkCount++;
    for (const key of ['id', 'created', 'model', 'system_fingerprint'] as const) {
      if (chunk[key] !== undefined && chunk[key] !== null && this.top[key] === undefined) put(this.top, key, chunk[key]);
    }
    if (chunk.usage !== undefined && chunk.usage !== null) this.usage = chunk.usage;
    if (!Array.isArray(chunk.choices)) return;
    for (const choice of chunk.choices) {
      if (!isObject(choice)) continue;
      const index = typeof choice.index === 'number' ? choice.index : 0;
      let state = this.choices.get(index);
      if (!state) {
        state = { index, fields: {} };
        this.choices.set(index, state);
      }
      this.mergeChoice(state, choice);
    }
  }

  private mergeChoice(state: ChoiceState, choice: JsonObject): void {
    for (const key of Object.keys(choice)) {
      const value = choice[key] as JsonValue;
      if (key === 'index') continue;
      if (key === 'delta' && isObject(value)) {
        const message = isObject(state.fields.message) ? state.fields.message : {};
        for (const field of Object.keys(value)) {
          const delta = value[field] as JsonValue;
          if (field === 'tool_calls') put(message, field, mergeToolCalls(message[field], delta));
          else if (field === 'role') {
            if (delta !== null) put(message, field, delta);
          } else put(message, field, mergeValue(message[field], delta));
        }
        put(state.fields, 'message', message);
      } else if (key === 'finish_reason' || key === 'stop_reason') {
        if (value !== null || state.fields[key] === undefined) put(state.fields, key, value);
      } else {
        put(state.fields, key, mergeValue(state.fields[key], value));
      }
    }
  }

  /** The finish reason of every choice seen, in index order. */
  finishReasons(): Array<string | null> {
    return [...this.choices.values()]
      .sort((a, b) => a.index - b.index)
      .map((state) => (typeof state.fields.finish_reason === 'string' ? state.fields.finish_reason : null));
  }

  /** The assembled response body. */
  result(): JsonObject {
    const choices = [...this.choices.values()].sort((a, b) => a.index - b.index).map((state) => this.finishChoice(state));
    const body: JsonObject = {
      id: this.top.id ?? null,
      object: this.endpoint === 'chat.completions' ? 'chat.completion' : 'text_completion',
      created: this.top.created ?? Math.floor(Date.now() / 1000),
      model: this.top.model ?? null,
      choices,
    };
    if (this.top.system_fingerprint !== undefined) body.system_fingerprint = this.top.system_fingerprint;
    body.usage = this.usage ?? null;
    return body;
  }

  private finishChoice(state: ChoiceState): JsonObject {
    const choice: JsonObject = { index: state.index };
    if (this.endpoint === 'chat.completions') {
      const message = isObject(state.fields.message) ? { ...state.fields.message } : {};
      if (message.role === undefined) message.role = 'assistant';
      if (Array.isArray(message.tool_calls)) {
        message.tool_calls = (message.tool_calls as JsonObject[]).map((call) => {
          const { __index: _index, ...rest } = call;
          if (rest.type === undefined) rest.type = 'function';
          return rest;
        });
      }
      if (message.content === undefined) message.content = null;
      choice.message = message;
    } else if (state.fields.text === undefined) {
      choice.text = '';
    }
    for (const key of Object.keys(state.fields)) {
      if (key === 'message') continue;
      put(choice, key, state.fields[key] as JsonValue);
    }
    if (choice.logprobs === undefined) choice.logprobs = null;
    if (choice.finish_reason === undefined) choice.finish_reason = null;
    return choice;
  }
}
