import type { VolatileMask } from './anatomy/promptAnatomy';
import { hexDigest } from './digest';
import type { DevToolDto, PrefixStabilityDto, VolatileUserPartsDto } from '../shared/protocol';

/** Parts of a system prompt that change from call to call, masked to find its template. */
const VOLATILE: Array<{ kind: string; pattern: RegExp }> = [
  { kind: 'timestamp', pattern: /\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\b/g },
  { kind: 'date', pattern: /\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b/g },
  { kind: 'time', pattern: /\b\d{1,2}:\d{2}(:\d{2})?\s?(am|pm|AM|PM)?\b/g },
  { kind: 'uuid', pattern: /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi },
  { kind: 'hex id', pattern: /\b[0-9a-f]{16,}\b/gi },
  { kind: 'number', pattern: /\b\d{5,}\b/g },
  {
    kind: 'weekday/month',
    pattern:
      /\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|june|july|august|september|october|november|december)\b/gi,
  },
];

/** The prompt with its volatile parts masked, and which kinds were found. */
export function templateOf(prompt: string): { template: string; kinds: string[] } {
  let template = prompt;
  const kinds: string[] = [];
  for (const { kind, pattern } of VOLATILE) {
    pattern.lastIndex = 0;
    if (!pattern.test(template)) continue;
    kinds.push(kind);
    template = template.replace(pattern, `<${kind}>`);
  }
  return { template, kinds };
}

const hash = (text: string) => hexDigest('sha1', text);

interface ModelPrompts {
  model: string;
  tool: DevToolDto;
  prompts: Set<string>;
  templates: Map<string, { kinds: Set<string>; example: string }>;
}

interface UserParts {
  tool: DevToolDto;
  model: string;
  requests: number;
  withVolatile: number;
  kinds: Set<string>;
  example: string;
}

/** How many distinct system prompts a model sees before the tracker stops adding (memory bound). */
const MAX_PROMPTS_PER_MODEL = 5000;
/** How many tool and model pairs are followed (memory bound against a flood of model names). */
const MAX_GROUPS = 1000;

/** The line a value sits in, shortened around it. */
function lineAround(text: string, start: number, end: number): string {
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const newline = text.indexOf('\n', end);
  const lineEnd = newline === -1 ? text.length : newline;
  // A value alone on its line (a section's body) reads better with its heading.
  const headingStart =
    text.slice(lineStart, lineEnd).trim() === text.slice(start, end).trim() ? text.lastIndexOf('\n', lineStart - 2) + 1 : lineStart;
  return text.slice(Math.max(headingStart, start - 200), Math.min(lineEnd, end + 200));
}

/**
 * Watches the system prompts each model receives, and the values each tool writes into its
 * users' messages. vLLM's automatic prefix caching only helps when requests share a prefix;
 * a system prompt that embeds the current time or a request id differs on every call and
 * silently defeats it. This reports models whose distinct system prompts collapse to few
 * templates once such parts are masked, and tools whose user messages carry such values.
 */
export class PrefixStabilityTracker {
  private readonly models = new Map<string, ModelPrompts>();
  private readonly userParts = new Map<string, UserParts>();

  observe(model: string, systemPrompt: string | undefined, tool: DevToolDto = 'unknown'): void {
    if (!systemPrompt) return;
    const group = `${tool}\n${model}`;
    let entry = this.models.get(group);
    if (!entry) {
      if (this.models.size >= MAX_GROUPS) return;
      entry = { model, tool, prompts: new Set(), templates: new Map() };
      this.models.set(group, entry);
    }
    const key = hash(systemPrompt);
    if (entry.prompts.has(key) || entry.prompts.size >= MAX_PROMPTS_PER_MODEL) return;
    entry.prompts.add(key);
    const { template, kinds } = templateOf(systemPrompt);
    const templateKey = hash(template);
    const known = entry.templates.get(templateKey);
    if (known) for (const kind of kinds) known.kinds.add(kind);
    else entry.templates.set(templateKey, { kinds: new Set(kinds), example: systemPrompt.slice(0, 300) });
  }

  /**
   * Counts a request's user messages: `masks` are the volatile values its anatomy found in
   * them; `textAt` reads the string a mask's path names, for the example.
   */
  observeUserParts(
    tool: DevToolDto,
    model: string,
    masks: readonly VolatileMask[],
    textAt: (path: ReadonlyArray<string | number>) => string | undefined,
  ): void {
    const group = `${tool}\n${model}`;
    let entry = this.userParts.get(group);
    if (!entry) {
      if (this.userParts.size >= MAX_GROUPS) return;
      entry = { tool, model, requests: 0, withVolatile: 0, kinds: new Set(), example: '' };
      this.userParts.set(group, entry);
    }
    entry.requests++;
    const inUserMessages = masks.filter((mask) => mask.path[0] === 'messages');
    if (inUserMessages.length === 0) return;
    entry.withVolatile++;
    for (const mask of inUserMessages) for (const value of mask.values) entry.kinds.add(value.kind);
    if (!entry.example) {
      const mask = inUserMessages[0]!;
      const value = mask.values[0]!;
      const text = textAt(mask.path);
      if (text) entry.example = lineAround(text, value.start, value.end);
    }
  }

  report(): PrefixStabilityDto[] {
    return [...this.models.values()].map((entry) => {
      const volatileTemplates = [...entry.templates.values()].filter((template) => template.kinds.size > 0);
      // Volatile: several distinct prompts share one template, so they differ only by masked parts.
      const volatile = entry.prompts.size > entry.templates.size && volatileTemplates.length > 0;
      return {
        model: entry.model,
        tool: entry.tool,
        distinct: entry.prompts.size,
        templates: entry.templates.size,
        volatile,
        volatileKinds: [...new Set(volatileTemplates.flatMap((template) => [...template.kinds]))],
        example: (volatileTemplates[0] ?? [...entry.templates.values()][0])?.example ?? '',
      };
    });
  }

  /** The tools whose user messages carried volatile values, most affected first. */
  userReport(): VolatileUserPartsDto[] {
    return [...this.userParts.values()]
      .filter((entry) => entry.withVolatile > 0)
      .map((entry) => ({
        tool: entry.tool,
        model: entry.model,
        requests: entry.requests,
        withVolatile: entry.withVolatile,
        volatileKinds: [...entry.kinds],
        example: entry.example,
      }))
      .sort((a, b) => b.withVolatile - a.withVolatile);
  }
}
