import { hexDigest } from './digest';
import type { PrefixStabilityDto } from '../shared/protocol';

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
    pattern: /\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|june|july|august|september|october|november|december)\b/gi,
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
  prompts: Set<string>;
  templates: Map<string, { kinds: Set<string>; example: string }>;
}

/** How many distinct system prompts a model sees before the tracker stops adding (memory bound). */
const MAX_PROMPTS_PER_MODEL = 5000;

/**
 * Watches the system prompts each model receives. vLLM's automatic prefix caching
 * only helps when requests share a prefix; a system prompt that embeds the current
 * time or a request id differs on every call and silently defeats it. This reports
 * models whose distinct system prompts collapse to few templates once such parts
 * are masked.
 */
export class PrefixStabilityTracker {
  private readonly models = new Map<string, ModelPrompts>();

  observe(model: string, systemPrompt: string | undefined): void {
    if (!systemPrompt) return;
    let entry = this.models.get(model);
    if (!entry) {
      entry = { prompts: new Set(), templates: new Map() };
      this.models.set(model, entry);
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

  report(): PrefixStabilityDto[] {
    return [...this.models.entries()].map(([model, entry]) => {
      const volatileTemplates = [...entry.templates.values()].filter((template) => template.kinds.size > 0);
      // Volatile: several distinct prompts share one template, so they differ only by masked parts.
      const volatile = entry.prompts.size > entry.templates.size && volatileTemplates.length > 0;
      return {
        model,
        distinct: entry.prompts.size,
        templates: entry.templates.size,
        volatile,
        volatileKinds: [...new Set(volatileTemplates.flatMap((template) => [...template.kinds]))],
        example: (volatileTemplates[0] ?? [...entry.templates.values()][0])?.example ?? '',
      };
    });
  }
}
