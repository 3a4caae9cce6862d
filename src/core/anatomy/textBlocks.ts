/**
 * Reads one piece of text the way dev tools assemble it: the user's words, and the blocks a
 * tool wraps around them (XML-ish context blocks on their own lines, fenced code, tool
 * results). One pass over the lines; nothing here throws, whatever the text: a block that
 * never closes is read as plain text.
 */

/** What a block around the question holds. */
export type ContextKind =
  /** The editor's and machine's state a tool appends (Cline's and Roo's environment details). */
  | 'environment'
  /** A runtime's description: dates, hosts, ports (OpenHands' runtime information). */
  | 'runtime'
  /** Code or a file the user or the tool attached. */
  | 'attached-code'
  /** What a tool call returned, fed back to the model. */
  | 'tool-result'
  /** Any other XML-ish block a tool wraps around the question. */
  | 'context';

export interface Region {
  start: number;
  end: number;
}

export interface TextBlock extends Region {
  kind: ContextKind;
  /** The tag name (`environment_details`), the fence's info string (`ts src/db.ts`), or the tool-result header. */
  name: string;
  /** Whether a tool recognisably wrote it (a known tag or a tool-result header), as opposed to a generic shape. */
  known: boolean;
}

export interface TextReading {
  /** Where the user's own words are: inside question tags when there are any, else between the blocks. */
  question: Region[];
  /** The blocks around (and inside) the question, in order. */
  blocks: TextBlock[];
  /** True when the question came from a tag that holds it (`<task>`, `<feedback>`...). */
  tagged: boolean;
}

/** Tags whose content is the user's own words. */
const QUESTION_TAGS: ReadonlySet<string> = new Set([
  'task',
  'feedback',
  'answer',
  'user_message',
  'user_query',
  'user_request',
  'user_input',
]);

/** Tags tools are known to wrap context in, with what they hold. */
const KNOWN_TAGS: ReadonlyMap<string, ContextKind> = new Map([
  ['environment_details', 'environment'],
  ['runtime_information', 'runtime'],
  ['repository_info', 'runtime'],
  ['repository_instructions', 'context'],
  ['extra_info', 'context'],
  ['additional_info', 'context'],
  ['conversation_instructions', 'context'],
  ['explicit_instructions', 'context'],
  ['custom_instructions', 'context'],
  ['file_content', 'attached-code'],
  ['file', 'attached-code'],
  ['files', 'attached-code'],
  ['selection', 'attached-code'],
  ['code_context', 'attached-code'],
  ['terminal_output', 'tool-result'],
  ['tool_result', 'tool-result'],
  ['command_output', 'tool-result'],
]);

/** An opening tag alone on its line: `<name>` or `<name attr="...">`. */
const OPENING_TAG = /^<([A-Za-z][\w.-]{0,63})(?:\s[^<>\n]{0,300})?>[ \t]*$/;
/** A tool result's header line, as Cline and Roo write it: `[read_file for 'src/a.ts'] Result:`, `[attempt_completion] Result:`. */
const TOOL_RESULT = /^\[[a-z_][\w-]{1,60}(?: for '[^'\n]{0,500}')?\] Result:/;
/** A file a tool attached for a mention, under the tool call that read it (Roo: `[read_file for 'src/a.ts']`). */
const TOOL_FILE = /^\[[a-z_][\w-]{1,60} for '[^'\n]{0,500}'\]\s*$/;
/** OpenHands' text protocol: the task between rulers, after an in-context example. */
const TASK_OPENS = /^-{3,} NEW TASK DESCRIPTION -{3,}\s*$/;
const TASK_CLOSES = /^-{3,} END OF NEW TASK DESCRIPTION -{3,}\s*$/;
/** An observation in OpenHands' text protocol: `EXECUTION RESULT of [execute_bash]:`. */
const EXECUTION_RESULT = /^EXECUTION RESULT of \[[\w-]{1,60}\]:/;
/** aider's edit rules, appended after the user's request: they run to the end. */
const APPENDED_RULES = /^# \*SEARCH\/REPLACE block\* Rules:/;
/** aider's closing instruction on the language to answer in, the text's last line. */
const REPLY_IN = /^Reply in [\p{L} ()-]{2,40}\.\s*$/u;
/** Headings under which a tool attaches the editor's selection or files (twinny). */
const CONTEXT_LABEL = /^(Selected Code|File Contents):\s*$/;
/**
 * A first line that hands over code written straight after it, unfenced ("Explain the following
 * code concisely:", a tool's command template): the rest of the text is that code.
 */
const CODE_FOLLOWS =
  /^[^\n]{0,200}\b(the following|this|below)\b[^\n]{0,80}\b(code|snippet|function|file|block|diff|selection)\b[^\n]{0,80}:\s*$/i;
/** A fence line: three or more backticks or tildes, then the info string. */
const FENCE = /^(`{3,}|~{3,})(.*)$/;

/** A file path in a fence's info string: `ts src/db.ts`, `src/db.ts (1-15)`, `main.py`. */
const PATH_LIKE = /[\\/]|\w\.\w{1,8}\b/;

/** How deep blocks are looked for inside question tags (a task that carries a code block). */
const MAX_DEPTH = 2;

/** The end of the line starting at `start` (the index of its newline, or the text's length). */
function lineEnd(text: string, start: number): number {
  const newline = text.indexOf('\n', start);
  return newline === -1 ? text.length : newline;
}

/** The line starting at `start`, without a trailing carriage return. */
function lineAt(text: string, start: number, end: number): string {
  return text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
}

/**
 * Finds closing tags and fences, remembering what it found: `from` only grows during a
 * read, so each tag name and fence kind is searched once, and a text full of blocks that
 * never close costs one pass, not one per opening.
 */
class Closers {
  private readonly tags = new Map<string, { from: number; at: number }>();
  private fences: Array<{ start: number; end: number; marker: string }> | undefined;

  constructor(private readonly text: string) {}

  /** Where `</name>` closes a block opened before `from`; undefined when it never closes before `limit`. */
  tag(name: string, from: number, limit: number): Region | undefined {
    const closing = `</${name}>`;
    const memo = this.tags.get(name);
    let at: number;
    // As for fences: the first closer at or after the last `from` is still the first one.
    if (memo && memo.from <= from && (memo.at === -1 || memo.at >= from)) at = memo.at;
    else {
      at = this.text.indexOf(closing, from);
      this.tags.set(name, { from, at });
    }
    if (at === -1 || at + closing.length > limit) return undefined;
    return { start: at, end: at + closing.length };
  }

  /** The first bare fence line (only backticks or tildes, at least as many as `marker`) in [from, limit). */
  fence(marker: string, from: number, limit: number): Region | undefined {
    this.fences ??= this.bareFences();
    const memo = this.fenceMemo.get(marker);
    let found: Region | undefined;
    // Within one pass `from` only grows: the first closer at or after the last `from` is still the first one now.
    if (memo && memo.from <= from && (memo.found === undefined || memo.found.start >= from)) found = memo.found;
    else {
      found = this.firstFence(marker, from);
      this.fenceMemo.set(marker, { from, found });
    }
    return found && found.start < limit ? found : undefined;
  }

  private readonly fenceMemo = new Map<string, { from: number; found: Region | undefined }>();

  private firstFence(marker: string, from: number): Region | undefined {
    const fences = this.fences!;
    let low = 0;
    let high = fences.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (fences[middle]!.start < from) low = middle + 1;
      else high = middle;
    }
    for (let i = low; i < fences.length; i++) {
      const fence = fences[i]!;
      if (fence.marker[0] === marker[0] && fence.marker.length >= marker.length) return fence;
    }
    return undefined;
  }

  private bareFences(): Array<{ start: number; end: number; marker: string }> {
    const found: Array<{ start: number; end: number; marker: string }> = [];
    const text = this.text;
    for (let at = 0; at < text.length;) {
      const end = lineEnd(text, at);
      const first = text.charCodeAt(at);
      if (first === 96 || first === 126) {
        const line = lineAt(text, at, end).trimEnd();
        if (/^(`{3,}|~{3,})$/.test(line)) found.push({ start: at, end, marker: line });
      }
      at = end + 1;
    }
    return found;
  }
}

/** Space, tab, line breaks, and the other whitespace a text may carry. */
export function isSpace(code: number): boolean {
  return (
    code === 32 ||
    (code >= 9 && code <= 13) ||
    code === 160 ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0xfeff ||
    code === 0x202f ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x3000
  );
}

/** Trims whitespace off a region's ends; undefined when nothing is left. */
export function trimmed(text: string, start: number, end: number): Region | undefined {
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return start < end ? { start, end } : undefined;
}

/** The first known tag's line at or after `from`: where a tool result that runs on ends. */
function nextKnownTag(text: string, from: number, limit: number): number {
  let at = from;
  while (at < limit) {
    const end = Math.min(lineEnd(text, at), limit);
    if (text.charCodeAt(at) === 60 /* < */) {
      const match = OPENING_TAG.exec(lineAt(text, at, end));
      const name = match?.[1]?.toLowerCase();
      if (name && (KNOWN_TAGS.has(name) || QUESTION_TAGS.has(name))) return at;
    }
    at = end + 1;
  }
  return limit;
}

/** The next line that opens a labelled context block, or `limit`. */
function nextLabel(text: string, from: number, limit: number): number {
  for (let at = from; at < limit;) {
    const end = Math.min(lineEnd(text, at), limit);
    if (CONTEXT_LABEL.test(lineAt(text, at, end))) return at;
    at = end + 1;
  }
  return limit;
}

/**
 * Reads `text[from, limit)`: the blocks at its top level and the question around them.
 * Question tags are read again inside, for code the user pasted into a task.
 */
function readRange(text: string, closers: Closers, from: number, limit: number, depth: number): TextReading {
  const blocks: TextBlock[] = [];
  const questionTags: Region[] = [];
  const gaps: Region[] = [];
  let gapStart = from;
  let at = from;
  const closeGap = (end: number) => {
    const gap = trimmed(text, gapStart, end);
    if (gap) gaps.push(gap);
  };
  while (at < limit) {
    const end = Math.min(lineEnd(text, at), limit);
    const first = text.charCodeAt(at);
    let next = end + 1;
    if (first === 60 /* < */) {
      const match = OPENING_TAG.exec(lineAt(text, at, end));
      const name = match?.[1];
      const close = name ? closers.tag(name, end, limit) : undefined;
      if (name && close) {
        const lower = name.toLowerCase();
        closeGap(at);
        if (QUESTION_TAGS.has(lower)) {
          questionTags.push({ start: end, end: close.start });
        } else {
          blocks.push({ kind: KNOWN_TAGS.get(lower) ?? 'context', name, start: at, end: close.end, known: KNOWN_TAGS.has(lower) });
        }
        gapStart = close.end;
        next = lineEnd(text, close.end) + 1;
      }
    } else if (first === 96 /* ` */ || first === 126 /* ~ */) {
      const match = FENCE.exec(lineAt(text, at, end));
      const close = match ? closers.fence(match[1]!, end + 1, limit) : undefined;
      if (match && close) {
        closeGap(at);
        const info = match[2]!.trim();
        // A fence titled with a file's path is a tool attaching a file; a bare language is anyone's paste.
        blocks.push({ kind: 'attached-code', name: info, start: at, end: close.end, known: PATH_LIKE.test(info) });
        gapStart = close.end;
        next = close.end + 1;
      }
    } else if (first === 91 /* [ */) {
      const header = lineAt(text, at, end);
      const kind = TOOL_RESULT.test(header) ? 'tool-result' : TOOL_FILE.test(header) ? 'attached-code' : undefined;
      if (kind) {
        // What a tool returned runs on to the next block the tool itself opens (its environment details).
        closeGap(at);
        const stop = nextKnownTag(text, end + 1, limit);
        blocks.push({ kind, name: header, start: at, end: stop, known: true });
        gapStart = stop;
        next = stop;
      }
    } else if (first === 45 /* - */ && TASK_OPENS.test(lineAt(text, at, end))) {
      // Everything before the ruler is the tool's example; the task runs to the closing ruler.
      let close = end + 1;
      while (close < limit && !TASK_CLOSES.test(lineAt(text, close, Math.min(lineEnd(text, close), limit))))
        close = lineEnd(text, close) + 1;
      if (close < limit) {
        closeGap(at);
        if (at > from) blocks.push({ kind: 'context', name: 'example', start: from, end: at, known: true });
        gaps.length = 0;
        questionTags.push({ start: end + 1, end: close });
        blocks.push({ kind: 'context', name: 'format reminder', start: close, end: limit, known: true });
        gapStart = limit;
        next = limit;
      }
    } else if (first === 69 /* E */ && EXECUTION_RESULT.test(lineAt(text, at, end))) {
      closeGap(at);
      const stop = nextKnownTag(text, end + 1, limit);
      blocks.push({ kind: 'tool-result', name: lineAt(text, at, end), start: at, end: stop, known: true });
      gapStart = stop;
      next = stop;
    } else if (first === 35 /* # */ && APPENDED_RULES.test(lineAt(text, at, end))) {
      closeGap(at);
      blocks.push({ kind: 'context', name: 'edit rules', start: at, end: limit, known: true });
      gapStart = limit;
      next = limit;
    } else if (first === 82 /* R */ && REPLY_IN.test(lineAt(text, at, end)) && trimmed(text, end, limit) === undefined) {
      closeGap(at);
      blocks.push({ kind: 'context', name: 'reply language', start: at, end: limit, known: true });
      gapStart = limit;
      next = limit;
    } else if (first === 83 /* S */ || first === 70 /* F */) {
      const label = lineAt(text, at, end);
      if (CONTEXT_LABEL.test(label)) {
        // The labelled context runs to the next label, or to the end.
        closeGap(at);
        const stop = nextLabel(text, end + 1, limit);
        blocks.push({ kind: 'attached-code', name: label.trim(), start: at, end: stop, known: true });
        gapStart = stop;
        next = stop;
      }
    }
    at = next;
  }
  closeGap(limit);

  if (questionTags.length === 0) return { question: gaps, blocks, tagged: false };
  const question: Region[] = [];
  for (const tag of questionTags) {
    if (depth >= MAX_DEPTH) {
      const region = trimmed(text, tag.start, tag.end);
      if (region) question.push(region);
      continue;
    }
    const inner = readRange(text, closers, tag.start, tag.end, depth + 1);
    question.push(...inner.question);
    blocks.push(...inner.blocks);
  }
  blocks.sort((a, b) => a.start - b.start);
  return { question, blocks, tagged: true };
}

/** A first line that hands over the unfenced code after it: the line is the question, the rest attached code. */
function codeAfterFirstLine(text: string): TextReading | undefined {
  const start = leadingSpace(text);
  const end = lineEnd(text, start);
  if (end >= text.length || !CODE_FOLLOWS.test(lineAt(text, start, end))) return undefined;
  const rest = trimmed(text, end + 1, text.length);
  // Fenced code is read as fences are; this shape is for code pasted straight in.
  if (!rest || text.startsWith('```', rest.start) || text.startsWith('~~~', rest.start)) return undefined;
  const question = trimmed(text, start, end);
  return {
    question: question ? [question] : [],
    blocks: [{ kind: 'attached-code', name: 'code', start: rest.start, end: text.length, known: true }],
    tagged: false,
  };
}

function leadingSpace(text: string): number {
  let at = 0;
  while (at < text.length && isSpace(text.charCodeAt(at))) at++;
  return at;
}

/** A tool's lead-in to the question it appends after its own instructions and context (Tabby's answer engine). */
const LEAD_IN = /\bhere(?: is|'s) the (?:user(?:'s)? |original )?(?:question|request|query)\s*:[ \t]*\r?\n/gi;

/** The question after a tool's lead-in, the last in the text: everything before it is the tool's. */
function questionAfterLeadIn(text: string): TextReading | undefined {
  if (!text.includes('ere is the ') && !text.includes("ere's the ")) return undefined;
  LEAD_IN.lastIndex = 0;
  let last: RegExpExecArray | undefined;
  for (let match = LEAD_IN.exec(text); match; match = LEAD_IN.exec(text)) last = match;
  if (!last) return undefined;
  const after = last.index + last[0].length;
  const inner = readRange(text, new Closers(text), after, text.length, 1);
  return {
    question: inner.question,
    blocks: [{ kind: 'context', name: 'lead-in', start: 0, end: after, known: true }, ...inner.blocks],
    tagged: true,
  };
}

/** Reads a text: where the question is, and the blocks around it. */
export function readText(text: string): TextReading {
  return (
    readChatTemplate(text) ?? questionAfterLeadIn(text) ?? codeAfterFirstLine(text) ?? readRange(text, new Closers(text), 0, text.length, 0)
  );
}

/**
 * A conversation rendered with a chat template into one text (ChatML's `<|im_start|>role`,
 * Llama 3's headers), as some tools send it to a completion endpoint or inside one user
 * message: the question is the last user turn, read as any text is; the other turns are
 * context the tool wrote.
 */
function readChatTemplate(text: string): TextReading | undefined {
  const start = leadingSpace(text);
  const template = CHAT_TEMPLATES.find(
    (candidate) => text.startsWith(candidate.open, start) || text.startsWith(candidate.begin ?? '\u0000', start),
  );
  if (!template) return undefined;
  const turns: Array<{ role: string; start: number; end: number; contentStart: number }> = [];
  for (let at = text.indexOf(template.open, start); at !== -1;) {
    const roleStart = at + template.open.length;
    const roleEnd = text.indexOf(template.roleEnd, roleStart);
    if (roleEnd === -1 || roleEnd - roleStart > 40) break;
    const contentStart = roleEnd + template.roleEnd.length;
    const close = text.indexOf(template.close, contentStart);
    const end = close === -1 ? text.length : close;
    turns.push({
      role: text.slice(roleStart, roleEnd).trim(),
      start: at,
      end: close === -1 ? end : close + template.close.length,
      contentStart,
    });
    if (close === -1) break;
    at = text.indexOf(template.open, close);
  }
  const lastUser = turns.filter((turn) => turn.role === 'user').at(-1);
  if (!lastUser) return undefined;
  const closers = new Closers(text);
  const inner = readRange(
    text,
    closers,
    lastUser.contentStart,
    Math.min(
      lastUser.end,
      text.indexOf(template.close, lastUser.contentStart) === -1 ? text.length : text.indexOf(template.close, lastUser.contentStart),
    ),
    1,
  );
  const blocks: TextBlock[] = [...inner.blocks];
  for (const turn of turns)
    if (turn !== lastUser) blocks.push({ kind: 'context', name: `${turn.role} turn`, start: turn.start, end: turn.end, known: true });
  blocks.sort((a, b) => a.start - b.start);
  return { question: inner.question, blocks, tagged: true };
}

/** Chat templates a tool may render a conversation with, into one text. */
const CHAT_TEMPLATES: ReadonlyArray<{ open: string; roleEnd: string; close: string; begin?: string }> = [
  { open: '<|im_start|>', roleEnd: '\n', close: '<|im_end|>' },
  { open: '<|start_header_id|>', roleEnd: '<|end_header_id|>', close: '<|eot_id|>', begin: '<|begin_of_text|>' },
];
