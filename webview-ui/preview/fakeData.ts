/** Realistic fake data for the preview harness: deterministic, so screenshots are stable. */

import type {
  CacheOutcomeDto,
  DevToolDto,
  EntryDetailDto,
  EntrySummaryDto,
  PrefixStabilityDto,
  RequestEventDto,
  TeamStatusDto,
  SkippedRequestDto,
  StatsDto,
  StatsWindowDto,
  TimeBucketDto,
  VolatileUserPartsDto,
} from '../../src/shared/protocol';
import { STATS_WINDOW_MS } from '../../src/shared/protocol';

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const MODELS = ['Qwen/Qwen2.5-7B-Instruct', 'meta-llama/Llama-3.1-8B-Instruct', 'mistralai/Mistral-Small-24B-Instruct-2501'];

const QUESTIONS = [
  'What is the difference between a process and a thread?',
  'Explain how TCP congestion control works.',
  'Summarize the main ideas of the CAP theorem.',
  'How does a B-tree index speed up lookups in PostgreSQL?',
  'What does HTTP status 409 Conflict mean?',
  'Why is the sky blue? Explain it to a ten-year-old.',
  'What are the SOLID principles in object-oriented design?',
  'How does garbage collection work in the JVM?',
  'Translate "the invoice is overdue" into German.',
  'What is a vector database used for?',
  'Explain the transformer attention mechanism in two paragraphs.',
  'What is the capital of Australia and why is it not Sydney?',
  'Что такое идемпотентность в REST API?',
  'Объясни, как работает индекс в базе данных.',
  'В чём разница между TCP и UDP?',
  'Какие бывают уровни изоляции транзакций?',
  'Как устроен сборщик мусора в Go?',
  'What is prefix caching in vLLM and when does it help?',
  'Give me three name ideas for an internal tool that caches LLM answers.',
  'Explain the difference between precision and recall with an example.',
];

const ANSWERS = [
  'A process has its own address space, while threads share the memory of the process they belong to. Switching between threads is cheaper…',
  'TCP starts with slow start, doubling the congestion window each round trip until it sees loss, then switches to congestion avoidance…',
  'The CAP theorem says that a distributed data store can provide at most two of consistency, availability and partition tolerance at once…',
  'A B-tree keeps keys sorted in wide, shallow pages, so a lookup touches only a handful of pages even for millions of rows…',
  'Идемпотентный запрос даёт тот же результат, сколько бы раз его ни повторили: GET, PUT и DELETE должны быть идемпотентными…',
  'Индекс хранит отсортированные ключи и ссылки на строки, поэтому поиск выполняется за логарифмическое время вместо полного сканирования…',
  'Prefix caching lets vLLM reuse the KV cache of a shared prompt prefix across requests, so identical system prompts are computed once…',
  'Precision is the share of predicted positives that are right; recall is the share of actual positives that were found…',
];

function pick<T>(r: () => number, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)]!;
}

export function makeEntries(count: number, now: number): EntrySummaryDto[] {
  const r = rng(42);
  const entries: EntrySummaryDto[] = [];
  for (let i = 0; i < count; i++) {
    const createdAt = now - Math.floor(r() * 30 * 86_400_000);
    const hits = r() < 0.35 ? 0 : Math.floor(Math.pow(r(), 3) * 120);
    const lastHitAt = hits > 0 ? Math.min(now - 5_000, createdAt + Math.floor(r() * (now - createdAt))) : null;
    const q = pick(r, QUESTIONS);
    entries.push({
      id: `e${(0x1a2b3c4d + i * 7919).toString(16)}${Math.floor(r() * 0xffffff)
        .toString(16)
        .padStart(6, '0')}`,
      endpoint: r() < 0.9 ? 'chat.completions' : 'completions',
      model: pick(r, MODELS),
      prompt: i % 7 === 0 ? `${q} Please keep it short.` : q,
      answer: pick(r, ANSWERS),
      createdAt,
      expiresAt: createdAt + 30 * 86_400_000,
      lastHitAt,
      hits,
      size: 600 + Math.floor(r() * 9000),
    });
  }
  return entries;
}

export function entryDetail(e: EntrySummaryDto): EntryDetailDto {
  return {
    ...e,
    source: e.hits % 2 === 0 ? 'json' : 'stream',
    normalized: e.hits % 3 === 0 ? ['time', 'cost'] : [],
    learned: {
      mode: 'verified',
      observations: [0.81, 0.86, 0.88, 0.91, 0.93, 0.95, 0.97].map((similarity, i) => ({
        similarity,
        correct: similarity > 0.87,
        at: Date.now() - (7 - i) * 3_600_000,
      })),
      threshold: e.hits % 2 === 0 ? 0.934 : null,
    },
    request: {
      model: e.model,
      messages: [
        { role: 'system', content: 'You are a concise assistant for the platform team.' },
        { role: 'user', content: e.prompt },
      ],
      temperature: 0.2,
      max_tokens: 512,
    },
    response: {
      id: `chatcmpl-${e.id}`,
      object: 'chat.completion',
      created: Math.floor(e.createdAt / 1000),
      model: e.model,
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: e.answer } }],
      usage: { prompt_tokens: 38, completion_tokens: 164, total_tokens: 202 },
    },
  };
}

const WINDOW_MS = STATS_WINDOW_MS;

function timeline(window: StatsWindowDto, now: number): TimeBucketDto[] {
  const r = rng(7);
  const span = WINDOW_MS[window];
  const step = span / 60;
  const buckets: TimeBucketDto[] = [];
  for (let i = 0; i < 60; i++) {
    const at = Math.floor(now - span + i * step);
    const hour = new Date(at).getHours();
    const daytime = window === '15m' || window === '1h' ? 1 : hour >= 8 && hour <= 19 ? 1 : 0.25;
    const scale = Math.max(1, Math.round(span / 3_600_000));
    const requests = i === 17 ? 0 : Math.round((20 + r() * 30) * daytime * Math.min(scale, 24) * (0.6 + i / 100));
    const warm = Math.min(0.55, 0.15 + i / 120);
    const exactHits = Math.round(requests * warm * (0.7 + r() * 0.3));
    const semanticHits = Math.round(requests * 0.14 * (0.6 + r() * 0.6));
    buckets.push({ at, requests, exactHits, semanticHits: Math.min(semanticHits, requests - exactHits) });
  }
  return buckets;
}

const PREFIX: PrefixStabilityDto[] = [
  {
    model: 'meta-llama/Llama-3.1-8B-Instruct',
    tool: 'openai-sdk',
    distinct: 214,
    templates: 1,
    volatile: true,
    volatileKinds: ['timestamp', 'uuid'],
    example:
      'You are Acme Support Assistant. Current time: 2025-11-25T14:03:22Z. Session id: 3f6c9a1e-8b2d-4c1a-9e7f-2b5d8c0a4e11. Answer politely and…',
  },
  {
    model: 'Qwen/Qwen2.5-7B-Instruct',
    tool: 'continue',
    distinct: 3,
    templates: 3,
    volatile: false,
    volatileKinds: [],
    example: 'You are a concise assistant for the platform team.',
  },
];

const USER_PARTS: VolatileUserPartsDto[] = [
  {
    tool: 'cline',
    model: 'Qwen/Qwen2.5-Coder-32B-Instruct',
    requests: 311,
    withVolatile: 311,
    volatileKinds: ['time'],
    example: '# Current Time\n12/3/2026, 10:14:27 AM (Europe/Berlin, UTC+1:00)',
  },
];

/** The tools the preview's traffic comes from: share of requests, of hits, of skips, and the skips' reasons. */
const TOOLS: Array<{ tool: DevToolDto; share: number; hitShare: number; skipShare: number; reasons: Record<string, number> }> = [
  { tool: 'continue', share: 0.38, hitShare: 0.31, skipShare: 0.52, reasons: { code_generation: 0.9, time_sensitive: 0.1 } },
  { tool: 'cline', share: 0.24, hitShare: 0.42, skipShare: 0.35, reasons: { code_generation: 0.85, time_sensitive: 0.15 } },
  { tool: 'openai-sdk', share: 0.21, hitShare: 0.63, skipShare: 0.04, reasons: { high_temperature: 1 } },
  { tool: 'aider', share: 0.12, hitShare: 0.18, skipShare: 0.61, reasons: { code_generation: 1 } },
  { tool: 'unknown', share: 0.05, hitShare: 0.4, skipShare: 0.1, reasons: { financial: 0.5, personalized: 0.5 } },
];

/** Team tier states the preview can show: `none` is a single-user install (no team configured). */
export type FakeTeamState = TeamStatusDto['state'] | 'none';

/** The team tier's status in a given state; `since` is when the preview entered it. */
export function makeTeam(state: FakeTeamState, since: number, now: number): TeamStatusDto | null {
  if (state === 'none') return null;
  return {
    state,
    team: 'platform',
    url: 'redis://deja:***@redis.internal:6379/0',
    reason: state === 'down' ? 'connect ECONNREFUSED 10.20.0.7:6379' : null,
    since,
    applied: 1532,
    lastAppliedAt: state === 'connecting' ? null : now - (state === 'down' ? 4 * 60_000 : 12_000),
  };
}

export function makeStats(
  window: StatsWindowDto,
  now: number,
  entries: number,
  empty: boolean,
  team: TeamStatusDto | null = null,
): StatsDto {
  const tl = empty ? timeline(window, now).map((b) => ({ ...b, requests: 0, exactHits: 0, semanticHits: 0 })) : timeline(window, now);
  const requests = tl.reduce((s, b) => s + b.requests, 0);
  const exactHits = tl.reduce((s, b) => s + b.exactHits, 0);
  const semanticHits = tl.reduce((s, b) => s + b.semanticHits, 0);
  const skipped = Math.round(requests * 0.07);
  const bypassed = Math.round(requests * 0.01);
  const misses = requests - exactHits - semanticHits - skipped - bypassed;
  const rate = (n: number): number | null => (requests ? n / requests : null);
  const shares = [0.46, 0.34, 0.2];
  const hitShares = [0.5, 0.22, 0.38];
  const r = rng(3);
  const vHistory = Array.from({ length: 40 }, (_, i) => ({
    at: now - (40 - i) * 15_000,
    prefixCacheHitRate: i === 12 ? null : 0.45 + 0.25 * Math.sin(i / 6) * 0.5 + r() * 0.1,
    kvCacheUsage: null,
  }));
  return {
    window: { from: now - WINDOW_MS[window], to: now },
    requests,
    exactHits,
    semanticHits,
    // About a fifth of the hits came from teammates' answers.
    teamHits: team ? Math.round((exactHits + semanticHits) * 0.21) : 0,
    misses: Math.max(0, misses),
    skipped,
    bypassed,
    hitRate: rate(exactHits + semanticHits),
    exactHitRate: rate(exactHits),
    semanticHitRate: rate(semanticHits),
    byModel: empty
      ? []
      : MODELS.map((model, i) => {
          const n = Math.round(requests * shares[i]!);
          const hits = Math.round(n * hitShares[i]!);
          return { model, requests: n, hits, hitRate: n ? hits / n : null };
        }),
    byTool: empty
      ? []
      : TOOLS.map(({ tool, share, hitShare, skipShare, reasons }) => {
          const n = Math.round(requests * share);
          const hits = Math.round(n * hitShare);
          const skipped = Math.round(n * skipShare);
          return {
            tool,
            requests: n,
            hits,
            hitRate: n ? hits / n : null,
            skipped,
            skippedByReason: Object.fromEntries(Object.entries(reasons).map(([reason, part]) => [reason, Math.round(skipped * part)])),
          };
        }),
    skippedByReason: empty
      ? {}
      : {
          code_generation: Math.round(skipped * 0.41),
          time_sensitive: Math.round(skipped * 0.22),
          financial: Math.round(skipped * 0.14),
          high_temperature: Math.round(skipped * 0.12),
          personalized: Math.round(skipped * 0.08),
          client_opt_out: Math.round(skipped * 0.03),
        },
    latency: empty
      ? { hits: { count: 0, p50: null, p99: null }, misses: { count: 0, p50: null, p99: null } }
      : { hits: { count: exactHits + semanticHits, p50: 3.4, p99: 14.2 }, misses: { count: misses, p50: 842, p99: 4310 } },
    savings: {
      requestsNotSent: rate(exactHits + semanticHits),
      promptTokensSaved: (exactHits + semanticHits) * 412,
      completionTokensSaved: (exactHits + semanticHits) * 187,
    },
    staleness: empty ? { revalidated: 0, stale: 0, rate: null } : { revalidated: 46, stale: 3, rate: 3 / 46 },
    semanticChecks: empty
      ? { explorations: 0, judged: 0, falseHits: 0, falseHitRate: null, falseHitInterval: null }
      : { explorations: 412, judged: 61, falseHits: 1, falseHitRate: 1 / 61, falseHitInterval: { low: 0.0029, high: 0.0873 } },
    timeline: tl,
    cache: { entries, vectors: Math.max(0, entries - 44), caching: true },
    shared: team,
    semantic: {
      state: 'ready',
      model: 'Xenova/multilingual-e5-small',
      threshold: 0.92,
      mode: 'verified',
      maxFalseHitRate: 0.02,
      judge: 'embedding',
      judgeCost: null,
      judgeCheck: empty ? null : { pairs: 100, alikeShare: 0.03, tellsApart: true },
      learned: empty ? [] : [{ endpoint: 'chat.completions', observations: 412, wrong: 6, servedFrom: 0.912, fewest: 149 }],
    },
    vllm: empty
      ? {
          prefixCacheHitRate: { available: false, reason: 'upstream /metrics not reachable (ECONNREFUSED)' },
          prefixCacheHitRateTotal: { available: false, reason: 'upstream /metrics not reachable (ECONNREFUSED)' },
          kvCacheUsage: { available: false, reason: 'upstream /metrics not reachable (ECONNREFUSED)' },
          naming: 'unknown',
          scrapedAt: null,
          history: [],
        }
      : {
          prefixCacheHitRate: { available: true, value: 0.618 },
          prefixCacheHitRateTotal: { available: true, value: 0.482 },
          kvCacheUsage: { available: false, reason: 'the server does not expose vllm:kv_cache_usage_perc' },
          naming: 'current',
          scrapedAt: now - 7_000,
          history: vHistory,
        },
    prefixStability: empty ? [] : PREFIX,
    volatileUserParts: empty ? [] : USER_PARTS,
  };
}

interface SkipSeed {
  reason: string;
  rule: string;
  prompt: string | null;
  trigger: string;
  field?: string;
}

const LONG = `I am preparing the quarterly review for our infrastructure team and I need some help with the write-up. Over the last three months we moved the inference fleet from a mix of older GPUs to a single vLLM deployment, consolidated the embedding services, and introduced a shared cache in front of the chat endpoints. The review has to cover cost, reliability and developer experience. For cost, we saw the GPU bill drop noticeably once the cache was in place, mostly because repeated questions from the internal docs assistant stopped reaching the model. For reliability, the biggest incident was a misconfigured autoscaler in October. For developer experience, people liked the OpenAI-compatible endpoint. Also, write a Python script that pulls the monthly GPU spend from our billing API and plots it, so I can paste the chart into the document. Finally, suggest a structure for the review with headings and a short executive summary at the top, written for a non-technical audience, and keep the tone factual rather than promotional.`;

const SKIPS: SkipSeed[] = [
  {
    reason: 'code_generation',
    rule: 'code_generation/write-code',
    prompt: 'Write a Python function that parses ISO 8601 dates with time zones and returns UTC datetimes.',
    trigger: 'Write a Python function',
  },
  {
    reason: 'code_generation',
    rule: 'code_generation/write-code-ru',
    prompt: 'Напиши скрипт на bash, который архивирует логи старше семи дней и отправляет их в S3.',
    trigger: 'Напиши скрипт',
  },
  {
    reason: 'financial',
    rule: 'financial/fx-rate',
    prompt: 'What is the current EUR/USD exchange rate, and should I convert my savings now?',
    trigger: 'current EUR/USD exchange rate',
  },
  { reason: 'financial', rule: 'financial/fx-rate-ru', prompt: 'Какой сейчас курс доллара к рублю в Сбербанке?', trigger: 'курс доллара' },
  {
    reason: 'time_sensitive',
    rule: 'time_sensitive/today',
    prompt: "What's the weather in Berlin today, and do I need an umbrella?",
    trigger: 'today',
  },
  {
    reason: 'time_sensitive',
    rule: 'time_sensitive/news-ru',
    prompt: 'Какие главные новости сегодня в мире технологий?',
    trigger: 'новости сегодня',
  },
  {
    reason: 'personalized',
    rule: 'personalized/my-data',
    prompt: 'Summarize my last five emails from the CRM and draft replies.',
    trigger: 'my last five emails',
  },
  {
    reason: 'high_temperature',
    rule: 'high_temperature/temperature',
    prompt: 'Give me ten creative slogans for a coffee shop run by robots.',
    trigger: '1.3',
    field: 'temperature',
  },
  {
    reason: 'client_opt_out',
    rule: 'client_opt_out/cache-control',
    prompt: 'Generate a random test user profile.',
    trigger: 'no-store',
    field: 'cache-control',
  },
  { reason: 'code_generation', rule: 'code_generation/write-code', prompt: LONG, trigger: 'write a Python script' },
  {
    reason: 'personalized',
    rule: 'personalized/user-field',
    prompt: 'Recommend a book for my commute.',
    trigger: 'user-8841',
    field: 'user',
  },
];

export function makeSkipped(count: number, now: number): SkippedRequestDto[] {
  const r = rng(11);
  const out: SkippedRequestDto[] = [];
  let at = now - 40_000;
  for (let i = 0; i < count; i++) {
    const seed = SKIPS[i % SKIPS.length]!;
    at -= Math.floor(30_000 + r() * 900_000);
    const field = seed.field ?? 'messages[1].content';
    const prompt = seed.prompt;
    const start = !seed.field && prompt ? prompt.indexOf(seed.trigger) : 0;
    out.push({
      ...event(i + 5000, at, pick(r, MODELS), 'SKIP', r),
      reason: seed.reason,
      rule: seed.rule,
      prompt,
      span: { field, start, end: start + seed.trigger.length, text: seed.trigger },
    });
  }
  return out;
}

export function event(
  id: number,
  at: number,
  model: string,
  outcome: CacheOutcomeDto,
  r: () => number,
  tier: RequestEventDto['tier'] = null,
): RequestEventDto {
  const upstream = outcome === 'MISS' || outcome === 'SKIP' || outcome === 'BYPASS';
  const upstreamMs = upstream ? 250 + Math.floor(r() * 2400) : null;
  return {
    id,
    at,
    endpoint: 'chat.completions',
    model,
    outcome,
    reason: null,
    rule: null,
    similarity: outcome === 'SEMANTIC_HIT' ? 0.93 + r() * 0.06 : null,
    upstreamMs,
    gatewayMs: upstreamMs !== null ? upstreamMs + 2 + r() * 6 : 1.5 + r() * 7,
    promptTokens: 30 + Math.floor(r() * 400),
    completionTokens: 50 + Math.floor(r() * 300),
    entryId: null,
    status: r() < 0.03 ? 502 : 200,
    stream: r() < 0.4,
    tier: outcome === 'HIT' || outcome === 'SEMANTIC_HIT' ? tier : null,
  };
}

export function randomOutcome(r: () => number): CacheOutcomeDto {
  const x = r();
  if (x < 0.38) return 'HIT';
  if (x < 0.52) return 'SEMANTIC_HIT';
  if (x < 0.88) return 'MISS';
  if (x < 0.97) return 'SKIP';
  return 'BYPASS';
}
