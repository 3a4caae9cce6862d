/**
 * Values a tool writes into its own boilerplate that change from one session to the next
 * while nothing the answer depends on does: the clock, today's date, the task's running
 * cost, an ephemeral port. Looked for only inside text a tool generated (a recognised
 * block, a recognised tool's system prompt), never in what the user wrote.
 */
import type { Region } from './textBlocks';

export const VOLATILE_KINDS = ['time', 'date', 'timestamp', 'cost', 'usage', 'port', 'id'] as const;
export type VolatileKind = (typeof VOLATILE_KINDS)[number];

export interface VolatileValue extends Region {
  kind: VolatileKind;
}

/** Markdown sections whose whole body is a volatile value: Cline's and Roo's `# Current Time`, Roo's `# Current Cost`. */
const SECTIONS: ReadonlyArray<{ heading: RegExp; kind: VolatileKind }> = [
  { heading: /^#{1,3} ?(Current (Time|Date|Date and Time)|Current Local Time|Time|Date)\s*$/, kind: 'time' },
  { heading: /^#{1,3} ?(Current Cost|Current Task Cost|Cost)\s*$/, kind: 'cost' },
  // The previous request's token count: it follows the clock (a new time is a new count).
  { heading: /^#{1,3} ?Context Window Usage\s*$/, kind: 'usage' },
];

/** A line that labels its value as the present moment: `- Current date: 2026-12-05`, `Current time: …`. */
const LABELLED = /^[ \t>*-]*(current (date|time|date and time|datetime|local time)|today(?:'s date)?|local time|date|time|timestamp|now|текущ(?:ее|ая) (?:время|дата)|сегодня|дата|время)[ \t]*[:：][ \t]*(\S[^\n]*)$/gimu;
/** A line that labels a running cost: `Current cost: $0.12`. */
const LABELLED_COST = /^[ \t>*-]*(current (task )?cost|total cost|session cost|cost so far)[ \t]*[:：][ \t]*(\S[^\n]*)$/gim;

/** Dates and times in prose: `Today's date is 2026-12-05`, `The current time is 10:56 PM`. */
const IN_PROSE = /(?:\b(?:today(?:'s date)?(?: is|:)|the current (?:date|time)(?: is|:)|the date is|it is currently)|(?<![\p{L}])(?:сегодня|текущ(?:ее|ая) (?:время|дата)(?: [-—:])?)|(?:[.!?]|^)\s*(?:текущее время|текущая дата|дата|время)[:：]?)\s+([^\n.]*\d[^\n]*?)(?=\.(?:\s|$)|\n|$)/gimu;

/** A date or time value: ISO timestamps, ISO dates, numeric dates, clock times, month-name dates. */
const DATE_OR_TIME =
  /\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun)\b,?|\b(?:понедельник|вторник|среда|четверг|пятница|суббота|воскресенье)\b,?|\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b|\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp]\.?[Mm]\.?)?|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}\b|\b\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{4}\b/gi;

/** An address on this machine with its port: `localhost:51234`, `http://127.0.0.1:8011`. */
const LOCAL_PORT = /\b(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|host\.docker\.internal):(\d{2,5})\b|\(port (\d{2,5})\)/g;

/** The end of the section that starts after `from`: the next heading of any level, or `limit`. */
function sectionEnd(text: string, from: number, limit: number): number {
  let at = from;
  while (at < limit) {
    const newline = text.indexOf('\n', at);
    const end = newline === -1 || newline > limit ? limit : newline;
    if (at > from && text.charCodeAt(at) === 35 /* # */) return at;
    at = end + 1;
  }
  return limit;
}

function trimRegion(text: string, start: number, end: number): { start: number; end: number } | undefined {
  while (start < end && /\s/.test(text[start]!)) start++;
  while (end > start && /\s/.test(text[end - 1]!)) end--;
  return start < end ? { start, end } : undefined;
}

function push(found: VolatileValue[], kind: VolatileKind, start: number, end: number): void {
  // Regions never overlap: a later finder inside an earlier one's value adds nothing.
  if (found.some((value) => start < value.end && end > value.start)) return;
  found.push({ kind, start, end });
}

/**
 * The volatile values in `text[from, limit)`, a piece of text a tool generated. `ports`
 * also masks addresses on this machine (a runtime's ephemeral app ports); an editor's
 * environment keeps them, since a dev server's port there is the user's own.
 */
export function findVolatileValues(text: string, from: number, limit: number, options: { ports: boolean }): VolatileValue[] {
  const found: VolatileValue[] = [];
  // Sections: a heading line, then the value up to the next heading.
  for (let at = from; at < limit; ) {
    const newline = text.indexOf('\n', at);
    const end = newline === -1 || newline > limit ? limit : newline;
    if (text.charCodeAt(at) === 35 /* # */) {
      const line = text.slice(at, end);
      const section = SECTIONS.find(({ heading }) => heading.test(line));
      if (section) {
        const body = trimRegion(text, end, sectionEnd(text, end + 1, limit));
        if (body) push(found, section.kind, body.start, body.end);
      }
    }
    at = end + 1;
  }
  const slice = from === 0 && limit === text.length ? text : text.slice(from, limit);
  const scan = (pattern: RegExp, each: (match: RegExpExecArray) => void) => {
    pattern.lastIndex = 0;
    for (let match = pattern.exec(slice); match; match = pattern.exec(slice)) each(match);
  };
  // Labelled lines: the whole value after the label.
  scan(LABELLED, (match) => {
    const value = match[3]!;
    const start = from + match.index + match[0].length - value.length;
    if (/\d/.test(value)) push(found, match[1]!.toLowerCase().includes('time') || /\d:\d/.test(value) ? 'time' : 'date', start, start + value.trimEnd().length);
  });
  scan(LABELLED_COST, (match) => {
    const value = match[3]!;
    const start = from + match.index + match[0].length - value.length;
    if (/\d/.test(value)) push(found, 'cost', start, start + value.trimEnd().length);
  });
  // Dates in prose: only the date and time values themselves.
  scan(IN_PROSE, (match) => {
    const value = match[1]!;
    const valueAt = match.index + match[0].length - value.length;
    DATE_OR_TIME.lastIndex = 0;
    for (let date = DATE_OR_TIME.exec(value); date; date = DATE_OR_TIME.exec(value)) {
      const start = from + valueAt + date.index;
      push(found, /:\d/.test(date[0]) && /-/.test(date[0]) ? 'timestamp' : /:/.test(date[0]) ? 'time' : 'date', start, start + date[0].length);
    }
  });
  if (options.ports) {
    scan(LOCAL_PORT, (match) => {
      const port = match[1] ?? match[2]!;
      const start = from + match.index + match[0].lastIndexOf(port);
      push(found, 'port', start, start + port.length);
    });
  }
  return found.sort((a, b) => a.start - b.start);
}
