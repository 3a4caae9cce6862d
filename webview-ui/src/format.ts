/** Number, time and size formatting. Missing values render as an em dash, never as 0. */

import type { StatsWindowDto } from '../../src/shared/protocol';

export const DASH = '—';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

/** 1234 -> "1,234" */
export function count(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? DASH : integer.format(n);
}

/** 1234567 -> "1.2M"; small numbers stay exact. */
export function compactCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  return Math.abs(n) < 10_000 ? integer.format(n) : compact.format(n);
}

/** 0.4567 -> "45.7%"; 1 -> "100%"; null -> "—". */
export function percent(rate: number | null | undefined, digits = 1): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return DASH;
  return `${(rate * 100).toFixed(digits).replace(/\.0+$/, '')}%`;
}

/** Milliseconds, always in ms so figures compare at a glance: "0.8 ms", "42 ms", "4,310 ms". */
export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  if (value < 10) return `${value.toFixed(1)} ms`;
  return `${integer.format(Math.round(value))} ms`;
}

/** A ratio such as a speed-up: "37×", "2.4×". */
export function ratio(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value) || value <= 0) return DASH;
  return value >= 10 ? `${Math.round(value)}×` : `${value.toFixed(1)}×`;
}

/** Bytes: "812 B", "4.1 KB", "2.3 MB". */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** "14:03:22" */
export function clock(at: number): string {
  const d = new Date(at);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "14:03" */
export function hourMinute(at: number): string {
  const d = new Date(at);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Nov 25" */
export function monthDay(at: number): string {
  const d = new Date(at);
  return `${MONTHS[d.getMonth()] ?? ''} ${d.getDate()}`;
}

/** "2025-11-25 14:03:22": for tooltips and metadata. */
export function dateTime(at: number | null | undefined): string {
  if (at === null || at === undefined) return DASH;
  const d = new Date(at);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(at)}`;
}

/** A coarse length of time: "12 s", "3 min", "2 h", "4 d". */
export function duration(span: number): string {
  const abs = Math.abs(span);
  if (abs < 60_000) return `${Math.round(abs / 1000)} s`;
  if (abs < 3_600_000) return `${Math.round(abs / 60_000)} min`;
  if (abs < 86_400_000) return `${Math.round(abs / 3_600_000)} h`;
  return `${Math.round(abs / 86_400_000)} d`;
}

/** "just now", "5 s ago", "3 min ago", "2 h ago", "4 d ago"; future times read "in 3 h". */
export function relative(at: number | null | undefined, now = Date.now()): string {
  if (at === null || at === undefined) return DASH;
  const diff = now - at;
  if (Math.abs(diff) < 5_000) return 'just now';
  const text = duration(diff);
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** A time axis label that suits the span of the chart. */
export function axisTime(at: number, spanMs: number): string {
  return spanMs <= 36 * 3_600_000 ? hourMinute(at) : monthDay(at);
}

// A Record over the protocol's windows: a new window without a label does not compile.
const WINDOW_LABELS: Record<StatsWindowDto, string> = {
  '15m': 'Last 15 minutes',
  '1h': 'Last hour',
  '6h': 'Last 6 hours',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
};

export const WINDOWS = Object.entries(WINDOW_LABELS).map(([value, label]) => ({ value: value as StatsWindowDto, label }));

export function isStatsWindow(value: unknown): value is StatsWindowDto {
  return WINDOWS.some((w) => w.value === value);
}

/** "code_generation" -> "Code generation" */
export function humanize(id: string): string {
  const text = id.replace(/[_-]+/g, ' ').trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "meta-llama/Llama-3.1-8B-Instruct" -> "Llama-3.1-8B-Instruct": the organisation is noise in narrow columns. */
export function shortModel(model: string): string {
  const i = model.lastIndexOf('/');
  return i >= 0 && i < model.length - 1 ? model.slice(i + 1) : model;
}

/** Collapses whitespace so a prompt fits on one table line. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Pretty-prints a JSON value for a <pre>; strings that hold JSON are parsed first. */
export function prettyJson(value: unknown): string {
  if (typeof value === 'string') {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}
