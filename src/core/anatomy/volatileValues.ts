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
/** A digit: only the lines that have one can hold a date, a time, a cost or a port. */
const DIGIT = /\d/g;

/** A line that labels its value as the present moment: `- Current date: 2026-12-05`, `Current time: …`. */
const LABELLED =
  /^[ \t>*-]*(current (date|time|date and time|datetime|local time)|today(?:'s date)?|local time|date|time|timestamp|now|текущ(?:ее|ая) (?:время|дата)|сегодня|дата|время)[ \t]*[:：][ \t]*(\S.*)$/iu;
/** A line that labels a running cost: `Current cost: $0.12`. */
const LABELLED_COST = /^[ \t>*-]*(current (task )?cost|total cost|session cost|cost so far)[ \t]*[:：][ \t]*(\S.*)$/i;

/** Dates and times in prose: `Today's date is 2026-12-05`, `The current time is 10:56 PM`. */
const IN_PROSE =
  /\b(?:today(?:'s date)?(?: is|:)|the current (?:date|time)(?: is|:)|the date is|it is currently)\s+([^.]*\d.*?)(?=\.(?:\s|$)|$)/gi;
/** The same in Russian: `Сегодня 03.12.2026`, `Текущее время: 10:14`. */
const IN_PROSE_RU =
  /(?:(?<![\p{L}])(?:сегодня|текущ(?:ее|ая) (?:время|дата)(?: [-—:])?)|(?:[.!?]|^)\s*(?:текущее время|текущая дата|дата|время)[:：]?)\s+([^.]*\d.*?)(?=\.(?:\s|$)|$)/giu;
const CYRILLIC = /[\u0400-\u04FF]/;

/** Cheap gate for the line patterns above: a label's colon, or a word of the moment. */
const MOMENT_WORDS = /:|today|the current|the date|currently|[\u0400-\u04FF]/i;

/** A date or time value: ISO timestamps, ISO dates, numeric dates, clock times, month-name dates. */
const DATE_OR_TIME =
  /\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun)\b,?|\b(?:понедельник|вторник|среда|четверг|пятница|суббота|воскресенье)\b,?|\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b|\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp]\.?[Mm]\.?)?|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}\b|\b\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{4}\b/gi;

/** An address on this machine with its port: `localhost:51234`, `http://127.0.0.1:8011`. */
const LOCAL_PORT = /\b(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|host\.docker\.internal):(\d{2,5})\b|\(port (\d{2,5})\)/g;

function isSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13) || code === 160 || code === 0x202f;
}

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
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return start < end ? { start, end } : undefined;
}

function push(found: VolatileValue[], kind: VolatileKind, start: number, end: number): void {
  // Regions never overlap: a later finder inside an earlier one's value adds nothing.
  if (found.some((value) => start < value.end && end > value.start)) return;
  found.push({ kind, start, end });
}

/** The labelled values and dates in prose on one line (`at` is where the line starts in the text). */
function lineValues(line: string, at: number, found: VolatileValue[]): void {
  const labelled = LABELLED.exec(line);
  if (labelled && /\d/.test(labelled[3]!)) {
    const value = labelled[3]!.trimEnd();
    const start = at + line.length - labelled[3]!.length;
    push(found, labelled[1]!.toLowerCase().includes('time') || /\d:\d/.test(value) ? 'time' : 'date', start, start + value.length);
    return;
  }
  const cost = LABELLED_COST.exec(line);
  if (cost && /\d/.test(cost[3]!)) {
    const start = at + line.length - cost[3]!.length;
    push(found, 'cost', start, start + cost[3]!.trimEnd().length);
    return;
  }
  // Dates in prose: only the date and time values themselves.
  const prose = CYRILLIC.test(line) ? IN_PROSE_RU : IN_PROSE;
  prose.lastIndex = 0;
  for (let match = prose.exec(line); match; match = prose.exec(line)) {
    const value = match[1]!;
    const valueAt = match.index + match[0].length - value.length;
    DATE_OR_TIME.lastIndex = 0;
    for (let date = DATE_OR_TIME.exec(value); date; date = DATE_OR_TIME.exec(value)) {
      const start = at + valueAt + date.index;
      push(
        found,
        /:\d/.test(date[0]) && /-/.test(date[0]) ? 'timestamp' : /:/.test(date[0]) ? 'time' : 'date',
        start,
        start + date[0].length,
      );
    }
  }
}

/**
 * The volatile values in `text[from, limit)`, a piece of text a tool generated. `ports`
 * also masks addresses on this machine (a runtime's ephemeral app ports); an editor's
 * environment keeps them, since a dev server's port there is the user's own. One pass over
 * the lines; only a line with a digit and a word of the moment is read further.
 */
export function findVolatileValues(text: string, from: number, limit: number, options: { ports: boolean }): VolatileValue[] {
  const found: VolatileValue[] = [];
  // Sections: a heading line, then the value up to the next heading. Heading lines are found by search, not line by line.
  const nextHeading = (after: number) => {
    const at = text.indexOf('\n#', after);
    return at === -1 ? -1 : at + 1;
  };
  for (let heading = text.charCodeAt(from) === 35 /* # */ ? from : nextHeading(from); heading !== -1 && heading < limit;) {
    const newline = text.indexOf('\n', heading);
    const end = newline === -1 || newline > limit ? limit : newline;
    const line = text.slice(heading, end);
    const kind = SECTIONS.find((section) => section.heading.test(line))?.kind;
    const body = kind && trimRegion(text, end, sectionEnd(text, end + 1, limit));
    if (kind && body) push(found, kind, body.start, body.end);
    heading = nextHeading(end);
  }
  // Lines with a digit: labelled values, dates in prose, ports. Lines without one are skipped whole.
  DIGIT.lastIndex = from;
  for (let digit = DIGIT.exec(text); digit && digit.index < limit; digit = DIGIT.exec(text)) {
    const at = text.lastIndexOf('\n', digit.index) + 1;
    const newline = text.indexOf('\n', digit.index);
    const end = Math.min(newline === -1 ? text.length : newline, limit);
    const line = text.slice(Math.max(at, from), end);
    const lineAt = Math.max(at, from);
    if (MOMENT_WORDS.test(line)) lineValues(line, lineAt, found);
    if (options.ports) {
      LOCAL_PORT.lastIndex = 0;
      for (let match = LOCAL_PORT.exec(line); match; match = LOCAL_PORT.exec(line)) {
        const port = match[1] ?? match[2]!;
        const start = lineAt + match.index + match[0].lastIndexOf(port);
        push(found, 'port', start, start + port.length);
      }
    }
    DIGIT.lastIndex = end + 1;
  }
  return found.sort((a, b) => a.start - b.start);
}
