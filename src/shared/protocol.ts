/**
 * The shapes the admin API returns and the dashboard reads: one typed module,
 * shared by the gateway, the extension host and the webview. No imports, no
 * runtime dependencies: only types and a few constants.
 */

// The closed sets below are declared here once, as tuples: core, gateway, host and webview
// derive their types (and their runtime checks) from them, so a new member is added in one place.

/**
 * What the cache did with a request: the `x-deja-cache` header, the metrics and the dashboard.
 * - HIT: answered from the exact cache.
 * - SEMANTIC_HIT: answered from a similar stored question.
 * - MISS: forwarded upstream; the answer is stored when it may be.
 * - SKIP: forwarded upstream and not stored, because a rule or the client said so.
 * - BYPASS: the cache was not involved at all (caching off, or a path Deja never caches).
 */
export const CACHE_OUTCOMES = ['HIT', 'SEMANTIC_HIT', 'MISS', 'SKIP', 'BYPASS'] as const;
export type CacheOutcomeDto = (typeof CACHE_OUTCOMES)[number];

/** Why a request was not cached: the policy's reasons, in the header, the metrics and the dashboard. */
export const SKIP_REASONS = [
  'client_opt_out',
  'high_temperature',
  'code_generation',
  'financial',
  'personalized',
  'time_sensitive',
] as const;
export type SkipReasonDto = (typeof SKIP_REASONS)[number];

/** The OpenAI endpoints whose answers Deja may cache. */
export const ENDPOINTS = ['chat.completions', 'completions', 'embeddings'] as const;
export type EndpointDto = (typeof ENDPOINTS)[number];

/** How semantic hits are decided: a learned bound on wrong answers (verified), or a fixed similarity threshold (static). */
export const SEMANTIC_MODES = ['verified', 'static'] as const;
export type SemanticModeDto = (typeof SEMANTIC_MODES)[number];

/** How a stored answer is checked against the upstream's own: the answers' embeddings, their text, or the model asked. */
export const ANSWER_JUDGES = ['embedding', 'exact', 'llm'] as const;
export type AnswerJudgeDto = (typeof ANSWER_JUDGES)[number];

/** Rows in one page of entries or of skipped requests: what the dashboard asks for and shows. */
export const PAGE_SIZE = 50;

/**
 * The dev tools the gateway recognises from a request's shape and headers; `openai-sdk` is
 * a script on an official SDK, `unknown` anything else.
 */
export const DEV_TOOLS = [
  'cline',
  'roo-code',
  'continue',
  'aider',
  'openhands',
  'tabby',
  'twinny',
  'cody',
  'openai-sdk',
  'unknown',
] as const;
export type DevToolDto = (typeof DEV_TOOLS)[number];

/** The text span that made a policy rule fire. */
export interface SpanDto {
  field: string;
  start: number;
  end: number;
  text: string;
}

/** One request as the gateway saw it. */
export interface RequestEventDto {
  id: number;
  /** Epoch milliseconds. */
  at: number;
  endpoint: EndpointDto;
  model: string;
  outcome: CacheOutcomeDto;
  reason: string | null;
  /** The rule that skipped it, e.g. `code_generation/write-code`. */
  rule: string | null;
  /** Semantic similarity: of the hit, or of the nearest neighbour on a miss. */
  similarity: number | null;
  /** Time the upstream took; null when it was not called. */
  upstreamMs: number | null;
  /** Time from the request's arrival to the end of its response. */
  gatewayMs: number;
  promptTokens: number;
  completionTokens: number;
  entryId: string | null;
  status: number;
  stream: boolean;
  /** For hits: whether the answer was on this machine or came from the team tier (Redis). */
  tier?: 'local' | 'team' | null;
  /** The dev tool that sent it, as recognised from the request's shape and headers. */
  tool?: DevToolDto | null;
  /**
   * Verified semantic mode, when the nearest stored question was considered: `exploit` served
   * its answer, `explore` forwarded the request to learn whether that answer would have been right.
   */
  decision?: SemanticDecisionDto | null;
}

export const SEMANTIC_DECISIONS = ['exploit', 'explore'] as const;
export type SemanticDecisionDto = (typeof SEMANTIC_DECISIONS)[number];

/** A skipped request, with the prompt text so the dashboard can highlight the span. */
export interface SkippedRequestDto extends RequestEventDto {
  prompt: string | null;
  span: SpanDto | null;
}

/** One dev tool's requests over a window. */
export interface ToolStatsDto {
  tool: DevToolDto;
  requests: number;
  hits: number;
  hitRate: number | null;
  skipped: number;
  skippedByReason: Record<string, number>;
}

export interface LatencyDto {
  count: number;
  p50: number | null;
  p99: number | null;
}

/** A value that may be missing, with why. */
export type Maybe<T> = { available: true; value: T } | { available: false; reason: string };

export interface VllmFiguresDto {
  /** Prefix-cache hit rate over the last scrape interval (delta of hits over delta of queries). */
  prefixCacheHitRate: Maybe<number>;
  /** Since the server started. */
  prefixCacheHitRateTotal: Maybe<number>;
  kvCacheUsage: Maybe<number>;
  /** Which metric names the server exposes: current (`vllm:prefix_cache_*`) or legacy (`vllm:gpu_prefix_cache_*`). */
  naming: 'current' | 'legacy' | 'unknown';
  scrapedAt: number | null;
  history: Array<{ at: number; prefixCacheHitRate: number | null; kvCacheUsage: number | null }>;
}

export interface PrefixStabilityDto {
  model: string;
  /** The tool that sent these system prompts. */
  tool: DevToolDto;
  /** Distinct system prompts seen. */
  distinct: number;
  /** What they collapse to once timestamps, ids and other volatile parts are masked. */
  templates: number;
  /** True when prompts differ only by volatile parts: they defeat vLLM's prefix caching. */
  volatile: boolean;
  /** The kinds of volatile parts found (timestamp, uuid, number...). */
  volatileKinds: string[];
  /** One example prompt, truncated. */
  example: string;
}

/**
 * Values in the user messages a tool sends that change every session (its environment's
 * clock, the task's cost, a runtime's ports): Deja masks them in its keys, but they still
 * change the prompt vLLM sees, so its prefix cache cannot reuse across sessions.
 */
export interface VolatileUserPartsDto {
  tool: DevToolDto;
  model: string;
  /** Requests seen from this tool and model. */
  requests: number;
  /** Of those, the ones whose user messages carried volatile values. */
  withVolatile: number;
  volatileKinds: string[];
  /** One such value in its line, as the tool wrote it. */
  example: string;
}

export interface TimeBucketDto {
  /** Start of the bucket, epoch ms. */
  at: number;
  requests: number;
  exactHits: number;
  semanticHits: number;
}

/** The team tier (a shared Redis), when one is configured. */
export interface TeamStatusDto {
  state: 'connecting' | 'connected' | 'down';
  team: string;
  /** The Redis URL, password masked. */
  url: string;
  /** Why it is down, while it is. */
  reason: string | null;
  /** Epoch ms of the last change of state. */
  since: number;
  /** Updates from other gateways applied since start, and the Redis time of the last one. */
  applied: number;
  lastAppliedAt: number | null;
}

export interface StatsDto {
  window: { from: number; to: number };
  requests: number;
  exactHits: number;
  semanticHits: number;
  /** Hits (exact or semantic) whose answer came from the team tier. */
  teamHits: number;
  misses: number;
  skipped: number;
  bypassed: number;
  /** (exact + semantic hits) / all requests. */
  hitRate: number | null;
  exactHitRate: number | null;
  semanticHitRate: number | null;
  byModel: Array<{ model: string; requests: number; hits: number; hitRate: number | null }>;
  /** The same figures for each dev tool that sent requests, most requests first, with its skips by reason. */
  byTool: ToolStatsDto[];
  skippedByReason: Record<string, number>;
  latency: { hits: LatencyDto; misses: LatencyDto };
  savings: {
    /** Share of requests not sent to inference. */
    requestsNotSent: number | null;
    promptTokensSaved: number;
    completionTokensSaved: number;
  };
  staleness: { revalidated: number; stale: number; rate: number | null };
  /**
   * How right semantic hits were, measured: the sampled rechecks of served semantic hits
   * (`--revalidate-share`) judged against the upstream's own answer, the share found wrong and
   * its 95% (Wilson) interval; and the requests forwarded to learn (explorations).
   */
  semanticChecks: {
    explorations: number;
    judged: number;
    falseHits: number;
    falseHitRate: number | null;
    falseHitInterval: { low: number; high: number } | null;
  };
  timeline: TimeBucketDto[];
  cache: { entries: number; vectors: number | null; caching: boolean };
  /** The team tier; null when none is configured. The key stays `shared` (the wire name older extensions read). */
  shared: TeamStatusDto | null;
  semantic: {
    state: string;
    reason?: string;
    model: string;
    threshold: number;
    mode: SemanticModeDto;
    /** Verified: the bound on wrong answers from semantic hits (δ). */
    maxFalseHitRate: number;
    judge: AnswerJudgeDto;
    /** The llm judge's calls and tokens since the gateway started; null for the other judges. */
    judgeCost: { calls: number; failures: number; promptTokens: number; completionTokens: number } | null;
    /**
     * Verified: per endpoint, what its entries have learned (every observation kept, not only
     * this window's): how many, how many wrong, from which similarity hits are served (null
     * while no tail passes the test) and the fewest observations that can pass it.
     */
    /**
     * The embedding judge's check of its model: how many pairs of unrelated answers it compared
     * (the latest 100), the share that looked the same, and whether it still judges (false once
     * that share passes 20%: the model cannot tell answers apart). Null for the other judges.
     */
    judgeCheck: { pairs: number; alikeShare: number | null; tellsApart: boolean } | null;
    learned: Array<{
      endpoint: Exclude<EndpointDto, 'embeddings'>;
      observations: number;
      wrong: number;
      servedFrom: number | null;
      fewest: number;
    }>;
  };
  vllm: VllmFiguresDto;
  prefixStability: PrefixStabilityDto[];
  /** Per tool and model: user messages that carry values changing every session. */
  volatileUserParts: VolatileUserPartsDto[];
}

/** What the entries table sorts by. */
export const ENTRY_SORTS = ['created', 'lastHit', 'hits', 'size'] as const;
export type EntrySort = (typeof ENTRY_SORTS)[number];

export interface EntrySummaryDto {
  id: string;
  endpoint: EndpointDto;
  model: string;
  /** The question: last user message or prompt, truncated. */
  prompt: string;
  /** The start of the answer, truncated. */
  answer: string;
  createdAt: number;
  expiresAt: number;
  lastHitAt: number | null;
  hits: number;
  size: number;
}

export interface EntryPageDto {
  total: number;
  offset: number;
  items: EntrySummaryDto[];
}

export interface EntryDetailDto extends EntrySummaryDto {
  request: unknown;
  response: unknown;
  source: 'json' | 'stream';
  /** The kinds of volatile values (time, date, cost, port) masked in its key; empty when none were. */
  normalized: string[];
  /**
   * What the semantic level learned about this entry: the questions that found it (similarity,
   * whether its answer was right for them) and, verified, the similarity from which it is
   * served; null without a semantic level.
   */
  learned: {
    mode: SemanticModeDto;
    observations: Array<{ similarity: number; correct: boolean; at: number }>;
    threshold: number | null;
  } | null;
}

export interface SkippedPageDto {
  total: number;
  offset: number;
  items: SkippedRequestDto[];
}

/** Filter for evicting everything a search matches. */
export interface EntryFilterDto {
  search?: string;
  model?: string;
  endpoint?: EndpointDto;
}

export interface EvictRequestDto {
  ids?: string[];
  filter?: EntryFilterDto;
}

export interface EvictResultDto {
  evicted: number;
}

/** Server-sent events on `/deja/v1/events`. */
export type LiveEventDto =
  | { type: 'request'; event: RequestEventDto }
  | { type: 'entries/changed'; reason: 'stored' | 'evicted' | 'cleared' | 'expired' }
  | { type: 'caching/changed'; enabled: boolean };

/** The semantic level as `/health` shows it. */
export interface SemanticStatusDto {
  state: 'off' | 'idle' | 'loading' | 'ready' | 'failed';
  model: string;
  /** Why the level is off or failed. */
  reason?: string;
  dimension?: number;
  /** Vectors in the index. */
  entries?: number;
  /** Entries still waiting for a vector (stored while the model was loading, or after a repair). */
  backlog?: number;
  threshold: number;
  mode: SemanticModeDto;
  /** Verified: the chance of a wrong answer a served semantic hit may carry, at most (δ). */
  maxFalseHitRate: number;
}

/** The team tier as `/health` shows it: the dashboard's figures, and how the gateway keeps up with the team. */
export interface TeamTierStatusDto extends TeamStatusDto {
  /** Team entries indexed here without a local copy (their answers stay in Redis). */
  indexed: number | null;
  /** From Redis taking an update to this gateway applying it, over the latest ones (ms). */
  lag: { p50: number; p95: number; max: number; count: number } | null;
}

/**
 * The shape of `GET /health` (no token needed): also how a second window recognises a
 * running Deja (`name: 'deja'`) and attaches to it instead of starting another.
 */
export interface HealthDto {
  name: 'deja';
  version: string;
  pid: number;
  /** Null when the gateway keeps nothing on disk. */
  dataDir: string | null;
  upstream: string;
  caching: boolean;
  uptimeSeconds: number;
  /** The semantic level: off, idle (waiting for a first request), loading, ready or failed, and why. */
  semantic: SemanticStatusDto | { state: 'off'; reason: string };
  /** The team tier: null when none is configured; otherwise its state (`down` means local only for now). The key stays `shared` (the wire name older extensions and gateways read). */
  shared: TeamTierStatusDto | null;
}

/** The admin API's base path. */
export const ADMIN_BASE = '/deja/v1';
/** The file in the data directory that holds the admin token. */
export const ADMIN_TOKEN_FILE = 'admin-token';

// ------------------------------------------------------------------ webview <-> extension host

/** The gateway as the extension sees it. */
export type GatewayStateDto = 'off' | 'starting' | 'running' | 'attached' | 'error';

export interface GatewayStatusDto {
  state: GatewayStateDto;
  /** The gateway's root URL when it is up, e.g. http://127.0.0.1:8787 */
  url: string | null;
  /** What went wrong, for the error state. */
  message: string | null;
  /** True when this window started it (and stops it on close); false when it attached to one. */
  owned: boolean;
}

/** The stats windows the admin API and the dashboard offer, and the span of each. */
export const STATS_WINDOW_MS = {
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
} as const;
export type StatsWindowDto = keyof typeof STATS_WINDOW_MS;

export interface EntryQueryDto extends EntryFilterDto {
  sort: EntrySort;
  order: 'asc' | 'desc';
  offset: number;
  limit: number;
}

/** Messages from the extension host to the dashboard. Names are noun/verb. */
export type HostToWebview =
  | { type: 'gateway/didChange'; status: GatewayStatusDto }
  | { type: 'stats/didChange'; window: StatsWindowDto; stats: StatsDto }
  | { type: 'entries/didLoad'; query: EntryQueryDto; page: EntryPageDto }
  | { type: 'entry/didLoad'; entry: EntryDetailDto }
  | { type: 'skipped/didLoad'; reason: SkipReasonDto | null; page: SkippedPageDto }
  | { type: 'live/request'; event: RequestEventDto }
  | { type: 'error/show'; message: string };

/** Messages from the dashboard to the extension host. */
export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'stats/request'; window: StatsWindowDto }
  | { type: 'entries/request'; query: EntryQueryDto }
  | { type: 'entry/request'; id: string }
  | { type: 'entries/evict'; ids: string[] }
  | { type: 'entries/evictMatching'; filter: EntryFilterDto }
  | { type: 'entries/clear' }
  | { type: 'skipped/request'; reason: SkipReasonDto | null; offset: number; limit: number }
  | { type: 'gateway/start' };
