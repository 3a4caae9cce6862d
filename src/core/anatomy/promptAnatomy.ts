/**
 * A request's anatomy: where the user's question is, what the tool wrapped around it, and
 * which values in that wrapping change from session to session. How a request is read
 * depends on its body alone (so a stored entry reads the same as the request that stored
 * it); the tool's name also uses the headers.
 */
import { isObject, type Endpoint, type JsonObject, type JsonValue } from '../types';
import {
  toolFromCompletionFields,
  toolFromHints,
  toolFromShape,
  toolFromStops,
  toolFromSystemPrompt,
  type ClientHints,
  type DevTool,
} from './devTools';
import { findCodeCompletion, findFimMarkers, type FimMatch } from './fillInTheMiddle';
import { readText, type Region, type TextBlock } from './textBlocks';
import { findVolatileValues, type VolatileValue } from './volatileValues';

/** The field that holds the question, read. */
export interface QuestionView {
  /** As spans name it: `messages[3].content`, `prompt`. */
  field: string;
  /** The field's whole text (text parts joined by newlines, as the policy always read it). */
  text: string;
  /** Where the user's own words are in it, in order. */
  regions: Region[];
  /** What the tool wrapped around them in this field: context blocks, attached code, tool results. */
  blocks: TextBlock[];
}

/** Volatile values in one string of the body, located by its path (`['messages', 2, 'content', 1, 'text']`). */
export interface VolatileMask {
  path: ReadonlyArray<string | number>;
  values: VolatileValue[];
}

export interface PromptAnatomy {
  tool: DevTool;
  /**
   * True when the request's shape shows a tool's wrapping (a tool's system prompt, question
   * tags, known context blocks, tool results, files attached by path). When false, the
   * question is the whole text, read as it always was.
   */
  wrapped: boolean;
  /** Undefined when the request has no text to judge (embeddings, token ids, no user message). */
  question: QuestionView | undefined;
  /** Fill-in-the-middle markers in the prompt or the last user message. */
  fim: (FimMatch & { field: string }) | undefined;
  /** Values in the tool's own text that change between sessions, to mask in keys. */
  volatile: VolatileMask[];
}

/** A message's text parts, each with its path; non-text parts read as empty, as the policy always joined them. */
interface MessageText {
  index: number;
  role: string;
  parts: Array<{ text: string; path: Array<string | number> }>;
  /** The parts joined by newlines. */
  text: string;
}

function messageText(message: JsonObject, index: number): MessageText | undefined {
  const content = message.content;
  const role = typeof message.role === 'string' ? message.role : '';
  if (typeof content === 'string') return { index, role, parts: [{ text: content, path: ['messages', index, 'content'] }], text: content };
  if (!Array.isArray(content)) return undefined;
  const parts = content.map((part, j) => ({
    text: isObject(part) && typeof part.text === 'string' ? part.text : '',
    path: ['messages', index, 'content', j, 'text'],
  }));
  return { index, role, parts, text: parts.map((part) => part.text).join('\n') };
}

/** One user message read part by part, with regions and blocks placed in the joined text. */
interface ReadMessage {
  message: MessageText;
  question: Region[];
  blocks: TextBlock[];
  tagged: boolean;
  /** Any block a tool recognisably wrote. */
  known: boolean;
  /** The volatile values in the tool-written blocks, by part. */
  volatile: VolatileMask[];
}

function readMessage(message: MessageText): ReadMessage {
  const question: Region[] = [];
  const blocks: TextBlock[] = [];
  const volatile: VolatileMask[] = [];
  let offset = 0;
  const readings = message.parts.map((part) => readText(part.text));
  // When a part holds the question in its tags, the untagged parts are the tool's notes, not the user's words.
  const tagged = readings.some((reading) => reading.tagged);
  message.parts.forEach((part, i) => {
    const reading = readings[i]!;
    if (!tagged || reading.tagged)
      for (const region of reading.question) question.push({ start: offset + region.start, end: offset + region.end });
    const values: VolatileValue[] = [];
    for (const block of reading.blocks) {
      blocks.push({ ...block, start: offset + block.start, end: offset + block.end });
      // Only what a tool writes about the machine and the moment: never the question, never a file.
      if (block.known && (block.kind === 'environment' || block.kind === 'runtime')) {
        values.push(...findVolatileValues(part.text, block.start, block.end, { ports: block.kind === 'runtime' }));
      }
    }
    if (values.length) volatile.push({ path: part.path, values });
    offset += part.text.length + 1;
  });
  return { message, question, blocks, tagged, known: tagged || blocks.some((block) => block.known), volatile };
}

const fieldOf = (index: number) => `messages[${index}].content`;

/** The whole of a text as the question's one region; none for an empty text. */
const whole = (text: string): Region[] => (text.length ? [{ start: 0, end: text.length }] : []);

/**
 * The volatile values of system prompts seen lately. A tool sends the same system prompt
 * (tens of kilobytes for an agent) with every request of every session: it is read once.
 */
const recentSystemPrompts = new Map<string, VolatileValue[]>();
const RECENT_SYSTEM_PROMPTS = 64;

function systemValues(text: string): VolatileValue[] {
  let values = recentSystemPrompts.get(text);
  if (values === undefined) {
    values = findVolatileValues(text, 0, text.length, { ports: false });
    if (recentSystemPrompts.size >= RECENT_SYSTEM_PROMPTS) recentSystemPrompts.delete(recentSystemPrompts.keys().next().value!);
    recentSystemPrompts.set(text, values);
  }
  return values;
}

/** A random id: a UUID, or a long run of hex or base-62 characters (`chatcmpl-tool-…`, `call_…`). */
const RANDOM_ID =
  /^[\w-]{0,32}?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$|^[\w-]{0,32}?(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{16,}$/;

/**
 * Ids the upstream or the tool drew at random for this session: tool-call ids (vLLM draws
 * them per response, so a conversation replayed in a new session carries new ones) and a
 * message's own id (twinny's conversation id). Masked with their order kept, so two
 * conversations that pair their calls and results differently stay apart.
 */
function idsIn(messages: JsonValue[]): VolatileMask[] {
  const masks: VolatileMask[] = [];
  const add = (path: Array<string | number>, value: JsonValue | undefined) => {
    if (typeof value === 'string' && RANDOM_ID.test(value)) masks.push({ path, values: [{ kind: 'id', start: 0, end: value.length }] });
  };
  messages.forEach((message, i) => {
    if (!isObject(message)) return;
    add(['messages', i, 'id'], message.id);
    add(['messages', i, 'tool_call_id'], message.tool_call_id);
    if (Array.isArray(message.tool_calls))
      message.tool_calls.forEach((call, j) => isObject(call) && add(['messages', i, 'tool_calls', j, 'id'], call.id));
  });
  return masks;
}

function readChat(body: JsonObject, hints: ClientHints | undefined): PromptAnatomy {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const texts: MessageText[] = [];
  messages.forEach((message, index) => {
    const text = isObject(message) ? messageText(message, index) : undefined;
    if (text) texts.push(text);
  });
  const system = texts.find((message) => message.role === 'system' || message.role === 'developer');
  // A tool without a system role puts its preamble in the first user message (Cody); a conversation
  // rendered into one user message with a chat template carries its system prompt inside.
  const firstUser = texts.find((message) => message.role === 'user')?.text;
  const signed =
    toolFromSystemPrompt(system?.text) ??
    toolFromSystemPrompt(system ? undefined : firstUser) ??
    toolFromSystemPrompt(renderedSystemPrompt(firstUser));
  const volatile: VolatileMask[] = [];
  // A system prompt is the tool's (or the script's) own text, never the question: its labelled
  // date and time lines are masked (aider's platform notes, a script's "Today's date: …").
  if (system) {
    for (const part of system.parts) {
      const values = systemValues(part.text);
      if (values.length) volatile.push({ path: part.path, values });
    }
  }
  const users = texts.filter((message) => message.role === 'user').map(readMessage);
  for (const user of users) volatile.push(...user.volatile);
  volatile.push(...idsIn(messages));

  const lastRead = users.at(-1);
  const tool = signed ?? (lastRead && toolFromShape(lastRead.message.text)) ?? toolFromHints(hints) ?? 'unknown';
  const last = lastRead?.message;
  const fim = last ? findFimMarkers(last.text) : undefined;
  const fimAt = fim && last ? { ...fim, field: fieldOf(last.index) } : undefined;
  if (!lastRead || !last) return { tool, wrapped: signed !== undefined, question: undefined, fim: fimAt, volatile };

  const wrapped = signed !== undefined || lastRead.known;
  if (!wrapped) {
    // Nothing recognisable: the whole last user message is the question, as it always was; code pasted in it is still code.
    const pasted = lastRead.blocks.filter((block) => block.kind === 'attached-code');
    const question = { field: fieldOf(last.index), text: last.text, regions: whole(last.text), blocks: pasted };
    return { tool, wrapped, question, fim: fimAt, volatile };
  }
  // An agent's later turns carry only tool results: the question is the latest message the user wrote in.
  let chosen = lastRead;
  for (let i = users.length - 2; chosen.question.length === 0 && i >= 0; i--) {
    if (users[i]!.question.length > 0) chosen = users[i]!;
  }
  const question = { field: fieldOf(chosen.message.index), text: chosen.message.text, regions: chosen.question, blocks: chosen.blocks };
  return { tool, wrapped, question, fim: fimAt, volatile };
}

/** The system turn of a conversation rendered with ChatML into one text, for its signature. */
function renderedSystemPrompt(text: string | undefined): string | undefined {
  const open = '<|im_start|>system\n';
  if (!text) return undefined;
  const at = text.indexOf(open);
  return at !== -1 && at < 8 ? text.slice(at + open.length, at + open.length + 400) : undefined;
}

function readCompletion(body: JsonObject, hints: ClientHints | undefined): PromptAnatomy {
  const prompt = body.prompt;
  const text =
    typeof prompt === 'string'
      ? prompt
      : Array.isArray(prompt) && prompt.every((item) => typeof item === 'string')
        ? (prompt as string[]).join('\n')
        : undefined;
  if (text === undefined)
    return { tool: toolFromHints(hints) ?? 'unknown', wrapped: false, question: undefined, fim: undefined, volatile: [] };
  const fim = findFimMarkers(text) ?? findCodeCompletion(text);
  const tool =
    toolFromShape(text) ??
    toolFromStops(body.stop) ??
    toolFromSystemPrompt(renderedSystemPrompt(text)) ??
    toolFromHints(hints) ??
    toolFromCompletionFields(body) ??
    'unknown';
  // A prompt rendered with a chat template is read like a conversation: the question is its last user turn.
  const reading = fim ? undefined : readText(text);
  const wrapped = reading !== undefined && reading.tagged && reading.blocks.some((block) => block.known);
  return {
    tool,
    wrapped,
    question: { field: 'prompt', text, regions: wrapped ? reading.question : whole(text), blocks: wrapped ? reading.blocks : [] },
    fim: fim && { ...fim, field: 'prompt' },
    volatile: [],
  };
}

const NOTHING: PromptAnatomy = Object.freeze({
  tool: 'unknown',
  wrapped: false,
  question: undefined,
  fim: undefined,
  volatile: [],
}) as PromptAnatomy;

/** Reads a request: the question, the wrapping, the fill-in-the-middle markers, the volatile values. Never throws. */
export function readAnatomy(endpoint: Endpoint, body: JsonObject, hints?: ClientHints): PromptAnatomy {
  if (endpoint === 'chat.completions') return readChat(body, hints);
  if (endpoint === 'completions') return readCompletion(body, hints);
  const tool = toolFromHints(hints);
  return tool ? { ...NOTHING, tool } : NOTHING;
}

/**
 * The question as the policy's text rules read it: the stretch from the first region to
 * the last, with whatever lies between them blanked (offsets kept, so a span found in it,
 * plus `offset`, points into the field's text as stored).
 */
export function questionText(question: QuestionView): { offset: number; text: string } {
  const { regions, text } = question;
  if (regions.length === 0) return { offset: 0, text: '' };
  const first = regions[0]!;
  const last = regions[regions.length - 1]!;
  if (regions.length === 1) return { offset: first.start, text: text.slice(first.start, last.end) };
  let view = '';
  let at = first.start;
  for (const region of regions) {
    if (region.start > at) view += text.slice(at, region.start).replace(/[^\n]/g, ' ');
    view += text.slice(region.start, region.end);
    at = region.end;
  }
  return { offset: first.start, text: view };
}

/** The code attached to the question: fenced code and file blocks in its field. */
export function attachedCode(question: QuestionView): TextBlock[] {
  return question.blocks.filter((block) => block.kind === 'attached-code');
}
