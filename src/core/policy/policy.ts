import { attachedCode, questionText, readAnatomy, type PromptAnatomy } from '../anatomy/promptAnatomy';
import type { Region } from '../anatomy/textBlocks';
import { isObject, type Endpoint, type JsonObject, type JsonValue } from '../types';
import { DEFAULT_POLICY } from './defaultRules';
import { recentDate } from './explicitDates';
import type { PatternRule, PolicyConfig, PolicyDecision, PolicyOverrides, SkipReason, TextSpan } from './policyTypes';
import { words } from './words';

/** What the policy looks at: the request body, and whether the client opted out. */
export interface PolicyInput {
  endpoint: Endpoint;
  body: JsonObject;
  /** `Cache-Control: no-store` or `no-cache`, with the header text for the span. */
  clientOptOut?: string;
  now?: Date;
  /** The request's anatomy, when the caller has read it already; read here otherwise. */
  anatomy?: PromptAnatomy;
}

interface CompiledPattern {
  id: string;
  regex: RegExp;
  unless: RegExp[];
  requires: RegExp[];
  /** Written for Cyrillic text: not worth running on a text without any. */
  cyrillic: boolean;
  /** Read only when the question comes with this context (code attached to it). */
  context: PatternRule['context'];
  /** Reads the text with quoted passages blanked, whatever its rule does. */
  ignoreQuoted: boolean;
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

/** The text with the given blocks (placed in the field, `offset` before the text) blanked, offsets kept. */
function blankBlocks(text: string, blocks: readonly Region[], offset: number): string {
  let out = '';
  let at = 0;
  for (const block of blocks) {
    const start = Math.max(at, block.start - offset);
    const end = Math.min(text.length, block.end - offset);
    if (end <= start) continue;
    out += text.slice(at, start) + text.slice(start, end).replace(/[^\n]/g, ' ');
    at = end;
  }
  return out + text.slice(at);
}

/** Quoted passages and code: material the user hands over, not what the user asks about. */
const QUOTED = /```[\s\S]*?```|`[^`\n]+`|«[^»]*»|“[^”]*”|"[^"\n]*"|(?<![\p{L}])'[^'\n]{3,}'(?![\p{L}])/gu;

/** Blanks quoted passages, keeping every other character at its offset so spans stay right. */
export function maskQuoted(text: string): string {
  return text.replace(QUOTED, (quoted) => quoted.replace(/[^\n]/g, ' '));
}

/** Words that tie a text to the present, whatever years it names. */
const PRESENT = new RegExp(
  words([
    '\\b(now|today|current(ly)?|this (year|week|month)|latest|right now)\\b',
    '(?<![\\p{L}])(сейчас|сегодня|текущ\\p{L}*|нынешн\\p{L}*)',
  ]),
  'iu',
);
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

function compile(rule: PatternRule): CompiledPattern {
  try {
    return {
      id: rule.id,
      regex: new RegExp(rule.pattern, rule.caseSensitive ? 'mu' : 'imu'),
      unless: (rule.unless ?? []).map((pattern) => new RegExp(pattern, 'imu')),
      requires: (rule.requires ?? []).map((pattern) => new RegExp(pattern, 'imu')),
      cyrillic: CYRILLIC.test(rule.pattern) && !/[a-z]{3}/i.test(rule.pattern.replace(/\\[pPbBsSdDwW]\{?\w*\}?|\\./g, '')),
      context: rule.context,
      ignoreQuoted: rule.ignoreQuoted === true,
    };
  } catch (error) {
    throw new Error(`policy pattern "${rule.id}" is not a valid regular expression: ${(error as Error).message}`);
  }
}

/** Merges a team's overrides over the defaults: settings replace, extra patterns are added. */
export function resolvePolicy(overrides: PolicyOverrides = {}, base: PolicyConfig = DEFAULT_POLICY): PolicyConfig {
  const textRule = <T extends { patterns: PatternRule[] }>(
    defaults: T,
    override: (Partial<T> & { extraPatterns?: PatternRule[] }) | undefined,
  ): T => {
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

/** The text of a field spans name (`messages[2].content`, `prompt`, `suffix`): text parts joined by newlines. */
export function fieldText(body: JsonObject, field: string): string | undefined {
  const message = /^messages\[(\d+)\]\.content$/.exec(field);
  if (message) {
    const messages = body.messages;
    const content = Array.isArray(messages) ? (messages[Number(message[1])] as JsonObject | undefined)?.content : undefined;
    if (typeof content === 'string') return content;
    if (Array.isArray(content)) return content.map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : '')).join('\n');
    return undefined;
  }
  const value = body[field];
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return (value as string[]).join('\n');
  return undefined;
}

/** The text a rule reads by default: the last user message (chat) or the prompt (completions), and where it came from. */
export function promptText(endpoint: Endpoint, body: JsonObject): { field: string; text: string } | undefined {
  if (endpoint === 'chat.completions' && Array.isArray(body.messages)) {
    for (let i = body.messages.length - 1; i >= 0; i--) {
      const message = body.messages[i];
      if (!isObject(message) || message.role !== 'user') continue;
      const field = `messages[${i}].content`;
      const text = fieldText(body, field);
      return text === undefined ? undefined : { field, text };
    }
    return undefined;
  }
  if (endpoint === 'completions') {
    const text = fieldText(body, 'prompt');
    return text === undefined ? undefined : { field: 'prompt', text };
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
    const rule = (
      reason: SkipReason,
      name: string,
      enabled: boolean,
      patterns: PatternRule[],
      ignoreQuoted: boolean,
      ignoreHistorical: boolean,
    ): CompiledRule[] => (enabled ? [{ reason, name, patterns: patterns.map(compile), ignoreQuoted, ignoreHistorical }] : []);
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
      return skip('client_opt_out', 'client_opt_out/cache-control', {
        field: 'cache-control',
        start: 0,
        end: input.clientOptOut.length,
        text: input.clientOptOut,
      });
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
      // Any suffix but an empty one: a tool that sends "\n" for an empty file end still asks for the middle; null is no suffix.
      const suffix = body.suffix;
      if (typeof suffix === 'string' && suffix !== '') {
        return skip('code_generation', 'code_generation/fill-in-the-middle', {
          field: 'suffix',
          start: 0,
          end: suffix.length,
          text: suffix,
        });
      }
    }
    return undefined;
  }

  /**
   * Fill-in-the-middle markers, then the pattern rules and explicit dates, over the user's
   * question: what a tool wrapped around it is context, read only by the rules that ask for it.
   */
  private byText(input: PolicyInput): PolicyDecision | undefined {
    const anatomy = input.anatomy ?? readAnatomy(input.endpoint, input.body);
    const codeGeneration = this.config.codeGeneration;
    if (anatomy.fim && codeGeneration.enabled && codeGeneration.fillInTheMiddle) {
      const { field, start, end, kind } = anatomy.fim;
      const text = fieldText(input.body, field);
      return skip('code_generation', `code_generation/${kind}`, { field, start, end, text: text?.slice(start, end) ?? '' });
    }
    const question = anatomy.question;
    if (!question) return undefined;
    const { offset, text: asked } = questionText(question);
    if (asked.trim() === '') return undefined;
    const now = input.now ?? new Date();
    const recentYears = this.config.timeSensitive.recentYears;
    const original = readableWindow(asked);
    const hasCyrillic = CYRILLIC.test(original);
    const masked = maskQuoted(original);
    // Code that came with the question, and the question's own words without it, for the rules that read context.
    const attached = attachedCode(question);
    const prose = attached.length ? blankBlocks(original, attached, offset) : original;
    // Worked out only when a rule that cares fires: most prompts match no rule at all.
    let historicalMemo: boolean | undefined;
    const isHistorical = () => (historicalMemo ??= historical(masked, now, recentYears));
    // Spans are read from the field's text: masking and blanking kept every offset.
    const spanAt = (start: number, end: number): TextSpan => ({
      field: question.field,
      start: offset + start,
      end: offset + end,
      text: question.text.slice(offset + start, offset + end),
    });
    for (const rule of this.rules) {
      for (const pattern of rule.patterns) {
        const text = rule.ignoreQuoted || pattern.ignoreQuoted ? masked : original;
        if (pattern.cyrillic && !hasCyrillic) continue;
        if (pattern.context === 'attached-code' && attached.length === 0) continue;
        const match = pattern.regex.exec(text);
        if (!match) continue;
        const words = pattern.context === 'attached-code' ? prose : text;
        if (!pattern.requires.every((needed) => needed.test(words))) continue;
        if (pattern.unless.some((veto) => veto.test(words))) continue;
        // A past year silences the whole rule, its other patterns and its explicit dates included.
        if (rule.ignoreHistorical && isHistorical()) break;
        return skip(rule.reason, `${rule.reason}/${pattern.id}`, spanAt(match.index, match.index + match[0].length));
      }
      if (rule.reason === 'time_sensitive') {
        const date = recentDate(masked, now, recentYears);
        if (date && !(rule.ignoreHistorical && isHistorical())) {
          return skip('time_sensitive', 'time_sensitive/explicit-date', spanAt(date.start, date.end));
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
