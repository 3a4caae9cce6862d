/**
 * Which dev tool sent a request: from the request's own shape (a system prompt's signature,
 * the blocks a tool wraps around the question), then from the headers its HTTP client sets.
 * Only the shape decides how a request is read; the tool's name is for the per-tool figures.
 */
import { DEV_TOOLS, type DevToolDto } from '../../shared/protocol';

export { DEV_TOOLS };
export type DevTool = DevToolDto;

/** What the headers say about the client, where it says anything. */
export interface ClientHints {
  userAgent?: string;
  /** Names of the other headers the client sent (lower case): some clients are known by one. */
  headerNames?: readonly string[];
  /** `X-Title`, which OpenRouter-minded clients set to their name. */
  title?: string;
  /** `HTTP-Referer`, likewise. */
  referer?: string;
}

/** Signatures at the start of a tool's system prompt: each tool introduces the model to itself. */
const SYSTEM_SIGNATURES: ReadonlyArray<{ tool: DevTool; pattern: RegExp }> = [
  { tool: 'cline', pattern: /^\s*You are Cline\b/ },
  { tool: 'roo-code', pattern: /^\s*You are Roo\b/ },
  { tool: 'openhands', pattern: /^\s*You are OpenHands\b/ },
  { tool: 'aider', pattern: /^\s*Act as an expert (software developer|code analyst|architect)\b/ },
  { tool: 'cody', pattern: /^\s*You are Cody\b/ },
  { tool: 'tabby', pattern: /^\s*You are "Tabby"/ },
  { tool: 'continue', pattern: /^\s*<important_rules>/ },
  { tool: 'twinny', pattern: /^\s*You are a helpful, respectful and honest coding assistant\b/ },
];

/** Signatures in a completion prompt: the header a tool writes above the code it completes. */
const PROMPT_SIGNATURES: ReadonlyArray<{ tool: DevTool; pattern: RegExp }> = [
  { tool: 'twinny', pattern: /\/\* File uri: file:\/\/|^#? ?File uri: file:\/\//m },
  { tool: 'continue', pattern: /<START EDITING HERE>|^\+\+\+\+\+ \S/m },
  { tool: 'tabby', pattern: /<USERCOMMAND>/ },
  { tool: 'cody', pattern: /<SELECTEDCODE\d+>|^\/\/ Here is a reference snippet of code from /m },
];

/** Client names in `User-Agent`, `X-Title` or `HTTP-Referer`. */
const CLIENT_NAMES: ReadonlyArray<{ tool: DevTool; pattern: RegExp }> = [
  { tool: 'roo-code', pattern: /\broo[ -]?code\b|roocode\.com/i },
  { tool: 'cline', pattern: /\bcline\b/i },
  { tool: 'continue', pattern: /\bcontinue(dev)?\b/i },
  { tool: 'twinny', pattern: /\btwinny\b/i },
  { tool: 'tabby', pattern: /\btabby\b/i },
  { tool: 'cody', pattern: /\bcody\b|sourcegraph/i },
  { tool: 'aider', pattern: /\baider\b/i },
  { tool: 'openhands', pattern: /\bopenhands\b/i },
];

/** The official OpenAI SDKs' user agents: a script, unless the shape says which tool built on them. */
const OPENAI_SDK = /^OpenAI\/(JS|Python|Go|Java|\.NET|Ruby)\b|^openai-(python|node)\b/i;

/** The tool a system prompt's opening names, if any. */
export function toolFromSystemPrompt(systemPrompt: string | undefined): DevTool | undefined {
  if (!systemPrompt) return undefined;
  const head = systemPrompt.length > 400 ? systemPrompt.slice(0, 400) : systemPrompt;
  return SYSTEM_SIGNATURES.find(({ pattern }) => pattern.test(head))?.tool;
}

/** The tool a completion prompt's own header names, if any. */
export function toolFromShape(prompt: string): DevTool | undefined {
  const head = prompt.length > 4000 ? prompt.slice(0, 4000) : prompt;
  return PROMPT_SIGNATURES.find(({ pattern }) => pattern.test(head))?.tool;
}

/** Stop sequences only one tool sends: Continue stops its completions at these two, whatever the model. */
export function toolFromStops(stop: unknown): DevTool | undefined {
  return Array.isArray(stop) && stop.includes('#- coding: utf-8') && stop.includes('/src/') ? 'continue' : undefined;
}

/** The tool the headers name, if any. */
export function toolFromHints(hints: ClientHints | undefined): DevTool | undefined {
  if (!hints) return undefined;
  for (const value of [hints.title, hints.referer, hints.userAgent]) {
    if (!value) continue;
    const named = CLIENT_NAMES.find(({ pattern }) => pattern.test(value));
    if (named) return named.tool;
  }
  const names = hints.headerNames ?? [];
  // Continue's fetch sends an empty api-key header; Tabby's OpenAI client (async-openai) an OpenAI-Beta one and no user agent.
  if (names.includes('api-key') && /^node-fetch\b/.test(hints.userAgent ?? '')) return 'continue';
  if (names.includes('openai-beta') && !hints.userAgent) return 'tabby';
  return hints.userAgent && OPENAI_SDK.test(hints.userAgent) ? 'openai-sdk' : undefined;
}

/** Fields only one tool's completion requests carry: Tabby's `"suffix": null`, twinny's Ollama-style options. */
export function toolFromCompletionFields(body: { suffix?: unknown; keep_alive?: unknown }): DevTool | undefined {
  if (body.suffix === null) return 'tabby';
  if (body.keep_alive !== undefined) return 'twinny';
  return undefined;
}
