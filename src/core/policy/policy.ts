import type { Endpoint, JsonObject, JsonValue } from '../types';
import { DEFAULT_POLICY } from './defaultRules';
import { recentDate } from './explicitDates';
import type { PatternRule, PolicyConfig, PolicyDecision, PolicyOverrides, SkipReason, TextSpan } from './policyTypes';

/** What the policy looks at: the request body, and whether the client opted out. */
export interface PolicyInput {
  endpoint: Endpoint;
  body: JsonObject;
  /** `Cache-Control: no-store` or `no-cache`, with the header text for the span. */
  clientOptOut?: string;
  now?: Date;
}

interface CompiledPattern {
  id: string;
  regex: RegExp;
  unless: RegExp[];
  requires: RegExp[];
  /** Written for Cyrillic text: not worth running on a text without any. */
  cyrillic: boolean;
}

const CYRILLIC = /[\u0400-\u04FF]/;

/** Long prompts are read at both ends only: a request for code or fresh data sits before or after the pasted context. */
const READ_HEAD = 4000;
const READ_TAIL = 8000;

/** The text to scan, with the middle of a very long prompt blanked (offsets are kept). */
function readableWindow(text: string): string {
  if (text.length <= READ_HEAD + READ_TAIL) return text;
  const middle = text.slice(READ_HEAD, text.length - READ_TAIL).replace(/[^\n]/g, ' ');
  return text.slice(0, READ_HEAD) + middle + text.slice(text.length - READ_TAIL);
}

interface CompiledRule {
  reason: SkipReason;
  name: string;
  patterns: CompiledPattern[];
  /** Reads the text with quoted passages blanked out: "translate «вчера»" is not about yesterday. */
  ignoreQuoted: boolean;
  /** Does not fire when the text is about a past year ("the price of gold in 2011"). */
  ignoreHistorical: boolean;
}

/** Quoted passages and code: material the user hands over, not what the user asks about. */
const QUOTED = /```[\s\S]*?```|`[^`\n]+`|«[^»]*»|“[^”]*”|"[^"\n]*"|(?<![\p{L}])'[^'\n]{3,}'(?![\p{L}])/gu;

/** Blanks quoted passages, keeping every other character at its offset so spans stay right. */
export function maskQuoted(text: string): string {
  return text.replace(QUOTED, (quoted) => quoted.replace(/[^\n]/g, ' '));
}

const PRESENT = /\b(now|today|current(ly)?|this (year|week|month)|latest|right now)\b|(?<![\p{L}])(сейчас|сегодня|текущ\p{L}*|нынешн\p{L}*)/iu;
const YEAR = /(?<![\p{L}\p{N}])(1[6-9]\d\d|20\d\d)(?![\p{N}])/gu;

/** True when the text is about a past year and nothing ties it to the present. */
function historical(text: string, now: Date, recentYears: number): boolean {
  if (PRESENT.test(text)) return false;
  const oldest = now.getFullYear() - recentYears;
  // An exec loop, not matchAll: matchAll clones the regular expression on every call.
  YEAR.lastIndex = 0;
  for (let match = YEAR.exec(text); match; match = YEAR.exec(text)) {
    if (Number(match[1]) < oldest) return true;
  }
  return false;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function compile(rule: PatternRule): CompiledPattern {
  try {
    return {
      id: rule.id,
      regex: new RegExp(rule.pattern, rule.caseSensitive ? 'mu' : 'imu'),
      unless: (rule.unless ?? []).map((pattern) => new RegExp(pattern, 'imu')),
      requires: (rule.requires ?? []).map((pattern) => new RegExp(pattern, 'imu')),
      cyrillic: CYRILLIC.test(rule.pattern) && !/[a-z]{3}/i.test(rule.pattern.replace(/\\[pPbBsSdDwW]\{?\w*\}?|\\./g, '')),
    };
  } catch (error) {
    throw new Error(`policy pattern "${rule.id}" is not a valid regular expression: ${(error as Error).message}`);
  }
}

/** Merges a team's overrides over the defaults: settings replace, extra patterns are added. */
export function resolvePolicy(overrides: PolicyOverrides = {}, base: PolicyConfig = DEFAULT_POLICY): PolicyConfig {
  const textRule = <T extends { patterns: PatternRule[] }>(defaults: T, override: (Partial<T> & { extraPatterns?: PatternRule[] }) | undefined): T => {
    const { extraPatterns = [], ...rest } = override ?? ({} as Partial<T> & { extraPatterns?: PatternRule[] });
    const replaced = (rest as Partial<T>).patterns;
    return { ...defaults, ...rest, patterns: [...(replaced ?? defaults.patterns), ...extraPatterns] };
  };
  return {
    highTemperature: { ...base.highTemperature, ...overrides.highTemperature },
    codeGeneration: textRule(base.codeGeneration, overrides.codeGeneration),
    timeSensitive: textRule(base.timeSensitive, overrides.timeSensitive),
    personalized: textRule(base.personalized, overrides.personalized),
    financial: textRule(base.financial, overrides.financial),
  };
}

/** The text a rule reads: the last user message (chat) or the prompt (completions), and where it came from. */
export function promptText(endpoint: Endpoint, body: JsonObject): { field: string; text: string } | undefined {
  if (endpoint === 'chat.completions' && Array.isArray(body.messages)) {
    for (let i = body.messages.length - 1; i >= 0; i--) {
      const message = body.messages[i];
      if (!isObject(message) || message.role !== 'user') continue;
      const content = message.content;
      if (typeof content === 'string') return { field: `messages[${i}].content`, text: content };
      if (Array.isArray(content)) {
        const text = content.map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : '')).join('\n');
        return { field: `messages[${i}].content`, text };
      }
      return undefined;
    }
    return undefined;
  }
  if (endpoint === 'completions') {
    const prompt = body.prompt;
    if (typeof prompt === 'string') return { field: 'prompt', text: prompt };
    if (Array.isArray(prompt) && prompt.every((item) => typeof item === 'string')) return { field: 'prompt', text: (prompt as string[]).join('\n') };
  }
  return undefined;
}

/**
 * Decides whether a request may be cached, before any lookup. A pure function
 * of the request and the configuration; the first rule that fires gives the
 * reason, and the span of text (or the parameter) that made it fire.
 */
export class Policy {
  private readonly rules: CompiledRule[];

  constructor(readonly config: PolicyConfig = DEFAULT_POLICY) {
    const rule = (reason: SkipReason, name: string, enabled: boolean, patterns: PatternRule[], ignoreQuoted: boolean, ignoreHistorical: boolean): CompiledRule[] =>
      enabled ? [{ reason, name, patterns: patterns.map(compile), ignoreQuoted, ignoreHistorical }] : [];
    // Order is priority: the more specific reason wins when several apply.
    this.rules = [
      ...rule('code_generation', 'codeGeneration', config.codeGeneration.enabled, config.codeGeneration.patterns, false, false),
      ...rule('financial', 'financial', config.financial.enabled, config.financial.patterns, true, true),
      ...rule('personalized', 'personalized', config.personalized.enabled, config.personalized.patterns, true, false),
      ...rule('time_sensitive', 'timeSensitive', config.timeSensitive.enabled, config.timeSensitive.patterns, true, true),
    ];
  }

  classify(input: PolicyInput): PolicyDecision {
    return this.byParameters(input) ?? this.byText(input) ?? this.byUserField(input) ?? CACHEABLE;
  }

  /**
   * True when no header or parameter settles the decision, so that it rests on the
   * prompt's text alone. The gateway then starts a miss's upstream call before the
   * text is scanned, and scans it while the upstream works.
   */
  onlyTextDecides(input: PolicyInput): boolean {
    return this.byParameters(input) === undefined && this.byUserField(input) === undefined;
  }

  /** The client's opt-out, the endpoint and the sampling parameters: no text is read. */
  private byParameters(input: PolicyInput): PolicyDecision | undefined {
    const { body, endpoint } = input;
    if (input.clientOptOut) {
      return skip('client_opt_out', 'client_opt_out/cache-control', { field: 'cache-control', start: 0, end: input.clientOptOut.length, text: input.clientOptOut });
    }
    if (endpoint === 'embeddings') return CACHEABLE;

    const temperature = this.config.highTemperature;
    if (temperature.enabled) {
      const value = typeof body.temperature === 'number' ? body.temperature : temperature.absentTemperature;
      if (value > temperature.maxTemperature) {
        const text = String(body.temperature ?? `${value} (absent)`);
        return skip('high_temperature', 'high_temperature/temperature', { field: 'temperature', start: 0, end: text.length, text });
      }
      if (typeof body.n === 'number' && body.n > temperature.maxN) {
        return skip('high_temperature', 'high_temperature/n', { field: 'n', start: 0, end: String(body.n).length, text: String(body.n) });
      }
    }

    if (endpoint === 'completions' && this.config.codeGeneration.enabled && this.config.codeGeneration.fillInTheMiddle) {
      const suffix = body.suffix;
      if (typeof suffix === 'string' && suffix.trim() !== '') {
        return skip('code_generation', 'code_generation/fill-in-the-middle', { field: 'suffix', start: 0, end: suffix.length, text: suffix });
      }
    }
    return undefined;
  }

  /** The pattern rules and explicit dates, over the prompt's text. */
  private byText(input: PolicyInput): PolicyDecision | undefined {
    const source = promptText(input.endpoint, input.body);
    if (!source || source.text.trim() === '') return undefined;
    const now = input.now ?? new Date();
    const recentYears = this.config.timeSensitive.recentYears;
    const original = readableWindow(source.text);
    const hasCyrillic = CYRILLIC.test(original);
    const masked = maskQuoted(original);
    // Worked out only when a rule that cares fires: most prompts match no rule at all.
    let historicalMemo: boolean | undefined;
    const isHistorical = () => (historicalMemo ??= historical(masked, now, recentYears));
    for (const rule of this.rules) {
      const text = rule.ignoreQuoted ? masked : original;
      for (const pattern of rule.patterns) {
        if (pattern.cyrillic && !hasCyrillic) continue;
        const match = pattern.regex.exec(text);
        if (!match) continue;
        if (!pattern.requires.every((needed) => needed.test(text))) continue;
        if (pattern.unless.some((veto) => veto.test(text))) continue;
        // A past year silences the whole rule, its other patterns and its explicit dates included.
        if (rule.ignoreHistorical && isHistorical()) break;
        const start = match.index;
        // The span is read from the original text: masking kept every offset.
        const matched = source.text.slice(start, start + match[0].length);
        return skip(rule.reason, `${rule.reason}/${pattern.id}`, { field: source.field, start, end: start + match[0].length, text: matched });
      }
      if (rule.reason === 'time_sensitive') {
        const date = recentDate(masked, now, recentYears);
        if (date && !(rule.ignoreHistorical && isHistorical())) {
          return skip('time_sensitive', 'time_sensitive/explicit-date', { field: source.field, start: date.start, end: date.end, text: source.text.slice(date.start, date.end) });
        }
      }
    }
    return undefined;
  }

  /** The `user` field: an answer for one named user. Read after the text, whose reasons are more telling. */
  private byUserField(input: PolicyInput): PolicyDecision | undefined {
    const user = input.body.user;
    if (this.config.personalized.enabled && this.config.personalized.userField && typeof user === 'string' && user !== '') {
      return skip('personalized', 'personalized/user-field', { field: 'user', start: 0, end: user.length, text: user });
    }
    return undefined;
  }
}

const CACHEABLE: PolicyDecision = Object.freeze({ cacheable: true });

function skip(reason: SkipReason, rule: string, span: TextSpan | undefined): PolicyDecision {
  return { cacheable: false, reason, rule, span };
}
