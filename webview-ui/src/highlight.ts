/**
 * Where a policy rule fired, as text pieces the skipped list can render:
 * the prompt with the triggering span marked, cut to a window around it.
 */

import type { SpanDto } from '../../src/shared/protocol';

/** The span fields that point into the prompt text (the rest are parameters or headers). */
export function isPromptField(field: string): boolean {
  return field === 'prompt' || /^messages\[\d+\]\.content$/.test(field);
}

export interface Highlight {
  before: string;
  match: string;
  after: string;
  /** Text was cut before `before` / after `after`. */
  cutStart: boolean;
  cutEnd: boolean;
}

/**
 * Locates the span in the prompt. Offsets are UTF-16 indices, as the gateway
 * computes them; if they do not fit (a truncated prompt), the span's text is
 * searched for instead. Returns null when the span cannot be placed.
 */
export function locateSpan(prompt: string, span: SpanDto): { start: number; end: number } | null {
  const { start, end } = span;
  if (Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end > start && end <= prompt.length) {
    if (!span.text || prompt.slice(start, end) === span.text) return { start, end };
  }
  if (span.text) {
    const at = prompt.indexOf(span.text);
    if (at >= 0) return { start: at, end: at + span.text.length };
  }
  return null;
}

/** Moves a cut point to the nearest whitespace within `slack` characters, so words are not split. */
function snap(text: string, index: number, direction: -1 | 1, slack = 24): number {
  for (let i = 0; i <= slack; i++) {
    const at = index + i * direction;
    if (at <= 0) return 0;
    if (at >= text.length) return text.length;
    if (/\s/.test(text.charAt(at))) return direction < 0 ? at + 1 : at;
  }
  return index;
}

/**
 * The prompt split around the span. With `context`, only about that many
 * characters are kept around the span (the span itself is always kept whole).
 */
export function highlight(prompt: string, range: { start: number; end: number }, context?: number): Highlight {
  if (context === undefined || prompt.length <= context) {
    return {
      before: prompt.slice(0, range.start),
      match: prompt.slice(range.start, range.end),
      after: prompt.slice(range.end),
      cutStart: false,
      cutEnd: false,
    };
  }
  const room = Math.max(0, context - (range.end - range.start));
  // A third of the room before the span, the rest after it; unused room moves to the other side.
  let lead = Math.floor(room / 3);
  let tail = room - lead;
  if (range.start < lead) {
    tail += lead - range.start;
    lead = range.start;
  }
  const afterLen = prompt.length - range.end;
  if (afterLen < tail) {
    lead = Math.min(range.start, lead + (tail - afterLen));
    tail = afterLen;
  }
  const from = lead >= range.start ? 0 : snap(prompt, range.start - lead, -1);
  const to = tail >= afterLen ? prompt.length : snap(prompt, range.end + tail, 1);
  return {
    before: prompt.slice(from, range.start),
    match: prompt.slice(range.start, range.end),
    after: prompt.slice(range.end, to),
    cutStart: from > 0,
    cutEnd: to < prompt.length,
  };
}

/** The start of a prompt with no span, cut to `context` characters. */
export function excerpt(prompt: string, context: number): { text: string; cut: boolean } {
  if (prompt.length <= context) return { text: prompt, cut: false };
  const cut = snap(prompt, context, -1);
  return { text: prompt.slice(0, cut > 0 ? cut : context).trimEnd(), cut: true };
}
