import { isObject, type Endpoint, type JsonObject, type JsonValue } from './types';

/** Why a request body was refused, in the terms of the OpenAI error shape. */
export interface ValidationProblem {
  message: string;
  /** The offending field, as OpenAI's `param`. */
  param: string | null;
  code: 'invalid_body' | 'missing_required_parameter' | 'invalid_type' | 'invalid_value';
}

function typeName(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function isIntegerArray(value: JsonValue): boolean {
  return Array.isArray(value) && value.every((item) => Number.isInteger(item));
}

function missing(param: string): ValidationProblem {
  return { message: `'${param}' is a required property`, param, code: 'missing_required_parameter' };
}

function wrongType(param: string, expected: string, got: JsonValue | undefined): ValidationProblem {
  return { message: `'${param}' must be ${expected}, got ${typeName(got)}`, param, code: 'invalid_type' };
}

function checkModel(body: JsonObject): ValidationProblem | undefined {
  if (!('model' in body)) return missing('model');
  const model = body.model;
  if (typeof model !== 'string') return wrongType('model', 'a string', model);
  if (model.trim() === '') return { message: "'model' must not be empty", param: 'model', code: 'invalid_value' };
  return undefined;
}

function checkMessages(body: JsonObject): ValidationProblem | undefined {
  if (!('messages' in body)) return missing('messages');
  const messages = body.messages;
  if (!Array.isArray(messages)) return wrongType('messages', 'an array', messages);
  if (messages.length === 0) {
    return { message: "'messages' must contain at least one message", param: 'messages', code: 'invalid_value' };
  }
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    if (!isObject(message)) return wrongType(`messages[${i}]`, 'an object', message);
    if (typeof message.role !== 'string') return wrongType(`messages[${i}].role`, 'a string', message.role);
    const content = message.content;
    if (content !== undefined && content !== null && typeof content !== 'string' && !Array.isArray(content)) {
      return wrongType(`messages[${i}].content`, 'a string, an array of parts or null', content);
    }
  }
  return undefined;
}

function checkPrompt(body: JsonObject): ValidationProblem | undefined {
  if (!('prompt' in body)) return missing('prompt');
  if (!isPromptLike(body.prompt)) return wrongType('prompt', PROMPT_LIKE, body.prompt);
  if ('suffix' in body && body.suffix !== null && typeof body.suffix !== 'string') {
    return wrongType('suffix', 'a string', body.suffix);
  }
  return undefined;
}

function checkInput(body: JsonObject): ValidationProblem | undefined {
  if (!('input' in body)) return missing('input');
  if (!isPromptLike(body.input)) return wrongType('input', PROMPT_LIKE, body.input);
  return undefined;
}

const PROMPT_LIKE = 'a string, an array of strings or an array of token ids';

/** What completions' `prompt` and embeddings' `input` both take: text, texts, token ids or lists of them. */
function isPromptLike(value: JsonValue): boolean {
  if (typeof value === 'string') return true;
  if (!Array.isArray(value) || value.length === 0) return false;
  return value.every((item) => typeof item === 'string') || isIntegerArray(value) || value.every(isIntegerArray);
}

/** Fields Deja itself relies on; the rest is for the upstream to judge. */
function checkCommon(body: JsonObject): ValidationProblem | undefined {
  if ('stream' in body && body.stream !== null && typeof body.stream !== 'boolean') {
    return wrongType('stream', 'a boolean', body.stream);
  }
  if ('stream_options' in body && body.stream_options !== null) {
    const options = body.stream_options;
    if (!isObject(options)) return wrongType('stream_options', 'an object', options);
    if ('include_usage' in options && options.include_usage !== null && typeof options.include_usage !== 'boolean') {
      return wrongType('stream_options.include_usage', 'a boolean', options.include_usage);
    }
  }
  for (const param of ['temperature', 'top_p'] as const) {
    if (param in body && body[param] !== null && (typeof body[param] !== 'number' || !Number.isFinite(body[param]))) {
      return wrongType(param, 'a number', body[param]);
    }
  }
  if ('n' in body && body.n !== null) {
    const n = body.n;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      return { message: "'n' must be an integer of at least 1", param: 'n', code: 'invalid_value' };
    }
  }
  return undefined;
}

/**
 * Checks the parts of a request body that Deja reads before forwarding it.
 * Returns the first problem found, or undefined when the body is usable.
 */
export function validateRequest(endpoint: Endpoint, body: unknown): ValidationProblem | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { message: 'The request body must be a JSON object', param: null, code: 'invalid_body' };
  }
  const object = body as JsonObject;
  const problem = checkModel(object);
  if (problem) return problem;
  switch (endpoint) {
    case 'chat.completions':
      return checkMessages(object) ?? checkCommon(object);
    case 'completions':
      return checkPrompt(object) ?? checkCommon(object);
    case 'embeddings':
      return checkInput(object);
    default: {
      const unreachable: never = endpoint;
      return unreachable;
    }
  }
}
