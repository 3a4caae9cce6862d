import { words } from './words';

/** A date written in a prompt, with where it is. */
export interface FoundDate {
  start: number;
  end: number;
  text: string;
  /** Undefined when the text gives no year ("on 3 December": this year's or next). */
  year: number | undefined;
}

const MONTHS_EN = words([
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
  'jan',
  'feb',
  'mar',
  'apr',
  'jun',
  'jul',
  'aug',
  'sept?',
  'oct',
  'nov',
  'dec',
]);
const MONTHS_RU = words([
  'январ\\p{L}*',
  'феврал\\p{L}*',
  'март\\p{L}*',
  'апрел\\p{L}*',
  'ма[йяю]',
  'июн\\p{L}*',
  'июл\\p{L}*',
  'август\\p{L}*',
  'сентябр\\p{L}*',
  'октябр\\p{L}*',
  'ноябр\\p{L}*',
  'декабр\\p{L}*',
]);

/**
 * Date forms, each with the group that holds its year when it has one:
 * ISO (2026-12-01), numeric (01.12.2026, 12/01/2026), "December 1(, 2026)",
 * "1 December (2026)", "1 декабря (2026)".
 */
const FORMS: Array<{ pattern: RegExp; yearGroup: number | undefined }> = [
  { pattern: /\b((?:19|20)\d{2})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b/gu, yearGroup: 1 },
  { pattern: /\b(0?[1-9]|[12]\d|3[01])[./](0?[1-9]|1[0-2])[./]((?:19|20)\d{2})\b/gu, yearGroup: 3 },
  { pattern: /\b(0?[1-9]|1[0-2])\/(0?[1-9]|[12]\d|3[01])\/((?:19|20)\d{2})\b/gu, yearGroup: 3 },
  {
    pattern: new RegExp(`\\b(?:${MONTHS_EN})\\.? (0?[1-9]|[12]\\d|3[01])(?:st|nd|rd|th)?\\b(?:,? ((?:19|20)\\d{2})\\b)?`, 'giu'),
    yearGroup: 2,
  },
  {
    pattern: new RegExp(`\\b(0?[1-9]|[12]\\d|3[01])(?:st|nd|rd|th)? (?:of )?(?:${MONTHS_EN})\\b\\.?(?:,? ((?:19|20)\\d{2})\\b)?`, 'giu'),
    yearGroup: 2,
  },
  {
    pattern: new RegExp(`(?<![\\p{L}\\p{N}])(0?[1-9]|[12]\\d|3[01]) (?:${MONTHS_RU})(?![\\p{L}])(?: ((?:19|20)\\d{2}))?`, 'giu'),
    yearGroup: 2,
  },
];

/** Every date written in the text, leftmost first, overlapping forms collapsed. */
export function findDates(text: string): FoundDate[] {
  const found: FoundDate[] = [];
  // Every form has a day or a year in digits.
  if (!/\d/.test(text)) return found;
  for (const { pattern, yearGroup } of FORMS) {
    // An exec loop, not matchAll: matchAll clones the regular expression on every call.
    pattern.lastIndex = 0;
    for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
      const start = match.index;
      const raw = yearGroup === undefined ? undefined : match[yearGroup];
      found.push({ start, end: start + match[0].length, text: match[0], year: raw ? Number(raw) : undefined });
    }
  }
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  return found.filter((date, i) => i === 0 || date.start >= found[i - 1]!.end);
}

/** Words that make a yearless date a question about a calendar day rather than a recurring one. */
const UPCOMING = new RegExp(
  words([
    `\\b(${words([
      'events?',
      'schedule',
      'open',
      'closed',
      'happening',
      'going on',
      'concerts?',
      'meetings?',
      'flights?',
      'weather',
      'forecast',
      'deadline',
      'appointment',
      'available',
      'reservation',
      'booking',
      'delivery',
      "what'?s on",
      'any',
    ])})\\b`,
    `(?<![\\p{L}])(${words([
      'событи\\p{L}*',
      'расписани\\p{L}*',
      'работает',
      'открыт\\p{L}*',
      'погод\\p{L}*',
      'концерт\\p{L}*',
      'встреч\\p{L}*',
      'рейс\\p{L}*',
      'что будет',
      'что проходит',
    ])})`,
  ]),
  'iu',
);

/**
 * The first date that ties the answer to the present: a year no older than
 * `recentYears` before `now`, or a yearless date in a question about what happens
 * on that day ("what events are on 3 December?"; "when is Christmas, December 25?"
 * stays cacheable).
 */
export function recentDate(text: string, now: Date, recentYears: number): FoundDate | undefined {
  const currentYear = now.getFullYear();
  for (const date of findDates(text)) {
    if (date.year !== undefined) {
      if (date.year >= currentYear - recentYears) return date;
    } else if (UPCOMING.test(text)) {
      return date;
    }
  }
  return undefined;
}
