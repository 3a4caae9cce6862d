import type { DevToolDto, LatencyDto, RequestEventDto, StatsDto, TimeBucketDto, ToolStatsDto } from '../shared/protocol';

/** The nearest-rank percentile (p in 0..100) of unsorted values; null when there are none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/**
 * A background recheck of a hit against the upstream. An exact hit's answer is `stale` when the
 * upstream now answers otherwise; a semantic hit's, when it was the wrong answer to the question
 * it was served for (then `similarity` is that question's).
 */
export interface RevalidationRecord {
  at: number;
  entryId: string;
  stale: boolean;
  /** Set for a semantic hit: the similarity it was served at. */
  similarity?: number;
}

/**
 * Wilson's 95% score interval for a proportion of `part` in `whole`: unlike the plain
 * estimate, it stays honest with few checks and none wrong (0 of 30 is "at most 11.4%").
 */
export function wilsonInterval(part: number, whole: number, z = 1.96): { low: number; high: number } | null {
  if (whole === 0) return null;
  const p = part / whole;
  const z2 = z * z;
  const centre = (p + z2 / (2 * whole)) / (1 + z2 / whole);
  const half = (z / (1 + z2 / whole)) * Math.sqrt((p * (1 - p)) / whole + z2 / (4 * whole * whole));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

function latency(values: number[]): LatencyDto {
  return { count: values.length, p50: percentile(values, 50), p99: percentile(values, 99) };
}

export type ComputedStats = Pick<
  StatsDto,
  | 'window'
  | 'requests'
  | 'exactHits'
  | 'semanticHits'
  | 'teamHits'
  | 'misses'
  | 'skipped'
  | 'bypassed'
  | 'hitRate'
  | 'exactHitRate'
  | 'semanticHitRate'
  | 'byModel'
  | 'byTool'
  | 'skippedByReason'
  | 'latency'
  | 'savings'
  | 'staleness'
  | 'semanticChecks'
  | 'timeline'
>;

/**
 * The figures the field defines, over one window of request events:
 * - hit rate = (exact hits + semantic hits) / all requests, overall, by kind and by model;
 * - latency with vs without cache: p50 and p99 of hits against misses (gateway time);
 * - savings: the share of requests not sent to inference, and the prompt and
 *   completion tokens the hits would have spent (from the stored usage);
 * - staleness rate = stale / revalidated, over the revalidations in the window.
 */
export function computeStats(
  events: readonly RequestEventDto[],
  revalidations: readonly RevalidationRecord[],
  window: { from: number; to: number },
  bucketMs: number,
): ComputedStats {
  const inWindow = events.filter((event) => event.at >= window.from && event.at < window.to);
  const count = (outcome: RequestEventDto['outcome']) => inWindow.filter((event) => event.outcome === outcome).length;
  const exactHits = count('HIT');
  const semanticHits = count('SEMANTIC_HIT');
  const requests = inWindow.length;
  const isHit = (event: RequestEventDto) => event.outcome === 'HIT' || event.outcome === 'SEMANTIC_HIT';

  const models = new Map<string, { requests: number; hits: number }>();
  const tools = new Map<DevToolDto, ToolStatsDto>();
  const skippedByReason: Record<string, number> = {};
  let promptTokensSaved = 0;
  let completionTokensSaved = 0;
  for (const event of inWindow) {
    const model = models.get(event.model) ?? { requests: 0, hits: 0 };
    model.requests++;
    if (isHit(event)) {
      model.hits++;
      promptTokensSaved += event.promptTokens;
      completionTokensSaved += event.completionTokens;
    }
    models.set(event.model, model);
    if (event.outcome === 'SKIP' && event.reason) skippedByReason[event.reason] = (skippedByReason[event.reason] ?? 0) + 1;
    const name = event.tool ?? 'unknown';
    let tool = tools.get(name);
    if (!tool) tools.set(name, (tool = { tool: name, requests: 0, hits: 0, hitRate: null, skipped: 0, skippedByReason: {} }));
    tool.requests++;
    if (isHit(event)) tool.hits++;
    if (event.outcome === 'SKIP') {
      tool.skipped++;
      if (event.reason) tool.skippedByReason[event.reason] = (tool.skippedByReason[event.reason] ?? 0) + 1;
    }
  }

  const timeline: TimeBucketDto[] = [];
  if (bucketMs > 0) {
    const first = Math.floor(window.from / bucketMs) * bucketMs;
    for (let at = first; at < window.to; at += bucketMs) timeline.push({ at, requests: 0, exactHits: 0, semanticHits: 0 });
    for (const event of inWindow) {
      const bucket = timeline[Math.floor((event.at - first) / bucketMs)];
      if (!bucket) continue;
      bucket.requests++;
      if (event.outcome === 'HIT') bucket.exactHits++;
      if (event.outcome === 'SEMANTIC_HIT') bucket.semanticHits++;
    }
  }

  const inWindowChecks = revalidations.filter((check) => check.at >= window.from && check.at < window.to);
  // Staleness is about exact hits; a semantic hit's recheck measures whether it was the right answer at all.
  const checks = inWindowChecks.filter((check) => check.similarity === undefined);
  const semanticChecks = inWindowChecks.filter((check) => check.similarity !== undefined);
  const falseHits = semanticChecks.filter((check) => check.stale).length;
  const stale = checks.filter((check) => check.stale).length;
  return {
    window,
    requests,
    exactHits,
    semanticHits,
    teamHits: inWindow.filter((event) => isHit(event) && event.tier === 'team').length,
    misses: count('MISS'),
    skipped: count('SKIP'),
    bypassed: count('BYPASS'),
    hitRate: ratio(exactHits + semanticHits, requests),
    exactHitRate: ratio(exactHits, requests),
    semanticHitRate: ratio(semanticHits, requests),
    byModel: [...models.entries()]
      .map(([model, figures]) => ({ model, ...figures, hitRate: ratio(figures.hits, figures.requests) }))
      .sort((a, b) => b.requests - a.requests),
    byTool: [...tools.values()]
      .map((tool) => ({ ...tool, hitRate: ratio(tool.hits, tool.requests) }))
      .sort((a, b) => b.requests - a.requests),
    skippedByReason,
    latency: {
      hits: latency(inWindow.filter(isHit).map((event) => event.gatewayMs)),
      misses: latency(inWindow.filter((event) => event.outcome === 'MISS').map((event) => event.gatewayMs)),
    },
    savings: { requestsNotSent: ratio(exactHits + semanticHits, requests), promptTokensSaved, completionTokensSaved },
    staleness: { revalidated: checks.length, stale, rate: ratio(stale, checks.length) },
    semanticChecks: {
      explorations: inWindow.filter((event) => event.decision === 'explore').length,
      judged: semanticChecks.length,
      falseHits,
      falseHitRate: ratio(falseHits, semanticChecks.length),
      falseHitInterval: wilsonInterval(falseHits, semanticChecks.length),
    },
    timeline,
  };
}
