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
  const current = now.getFullYear();
  return [...text.matchAll(YEAR)].some((match) => Number(match[1]) < current - recentYears);
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
    const { body, endpoint } = input;
    if (input.clientOptOut) {
      return skip('client_opt_out', 'client_opt_out/cache-control', { field: 'cache-control', start: 0, end: input.clientOptOut.length, text: input.clientOptOut });
    }
    if (endpoint === 'embeddings') return { cacheable: true };

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

    const source = promptText(endpoint, body);
    if (source && source.text.trim() !== '') {
      const now = input.now ?? new Date();
      const recentYears = this.config.timeSensitive.recentYears;
      const original = readableWindow(source.text);
      const hasCyrillic = CYRILLIC.test(original);
      const masked = maskQuoted(original);
      const isHistorical = historical(masked, now, recentYears);
      for (const rule of this.rules) {
        if (rule.ignoreHistorical && isHistorical) continue;
        const text = rule.ignoreQuoted ? masked : original;
        for (const pattern of rule.patterns) {
          if (pattern.cyrillic && !hasCyrillic) continue;
          const match = pattern.regex.exec(text);
          if (!match) continue;
          if (!pattern.requires.every((needed) => needed.test(text))) continue;
          if (pattern.unless.some((veto) => veto.test(text))) continue;
          const start = match.index;
          // The span is read from the original text: masking kept every offset.
          const matched = source.text.slice(start, start + match[0].length);
          return skip(rule.reason, `${rule.reason}/${pattern.id}`, { field: source.field, start, end: start + match[0].length, text: matched });
        }
        if (rule.reason === 'time_sensitive') {
          const date = recentDate(masked, now, recentYears);
          if (date) return skip('time_sensitive', 'time_sensitive/explicit-date', { field: source.field, start: date.start, end: date.end, text: source.text.slice(date.start, date.end) });
        }
      }
    }

    if (this.config.personalized.enabled && this.config.personalized.userField && typeof body.user === 'string' && body.user !== '') {
      return skip('personalized', 'personalized/user-field', { field: 'user', start: 0, end: body.user.length, text: body.user });
    }
    return { cacheable: true };
  }
}

function skip(reason: SkipReason, rule: string, span: TextSpan | undefined): PolicyDecision {
  return { cacheable: false, reason, rule, span };
}
