import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RequestEventDto } from '../shared/protocol';

/** Sources for the gauges, read when Prometheus scrapes. */
export interface GaugeSources {
  entries(): Promise<number | undefined>;
  vectors(): number | undefined;
  vllmPrefixCacheHitRate(): number | undefined;
  vllmKvCacheUsage(): number | undefined;
}

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** How often the event-loop lag is sampled. */
const LAG_SAMPLE_MS = 100;

/**
 * The gateway's own counters and histograms in Prometheus text format, on a
 * registry of its own (several gateways may live in one process, as in tests).
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'endpoint' | 'outcome' | 'reason' | 'model'>;
  private readonly tokensSaved: Counter<'kind'>;
  private readonly duration: Histogram<'outcome'>;
  private readonly upstreamDuration: Histogram<'endpoint'>;
  private readonly revalidations: Counter<'result'>;
  private readonly teamHits: Counter<'outcome'>;
  private readonly semanticJudged: Counter;
  private readonly semanticFalseHits: Counter;
  private readonly semanticExplorations: Counter;

  constructor(sources: GaugeSources) {
    // The event-loop lag monitor samples every 100 ms, not prom-client's 10: a timer at 10 ms
    // wakes an idle gateway (one that runs all day beside the editor) 100 times a second.
    collectDefaultMetrics({ register: this.registry, prefix: 'deja_', eventLoopMonitoringPrecision: LAG_SAMPLE_MS });
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'deja_requests_total',
      help: 'Requests by endpoint, cache outcome, skip reason and model',
      labelNames: ['endpoint', 'outcome', 'reason', 'model'],
      registers,
    });
    this.tokensSaved = new Counter({
      name: 'deja_tokens_saved_total',
      help: 'Tokens the cache answered without inference, from the stored usage',
      labelNames: ['kind'],
      registers,
    });
    this.duration = new Histogram({
      name: 'deja_request_duration_seconds',
      help: 'Time from request to the end of the response, by cache outcome',
      labelNames: ['outcome'],
      buckets: SECONDS,
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: 'deja_upstream_duration_seconds',
      help: 'Time the upstream took, when it was called',
      labelNames: ['endpoint'],
      buckets: SECONDS,
      registers,
    });
    this.revalidations = new Counter({
      name: 'deja_revalidations_total',
      help: 'Hits rechecked against the upstream, by result',
      labelNames: ['result'],
      registers,
    });
    this.semanticJudged = new Counter({
      name: 'deja_semantic_judged_total',
      help: "Served semantic hits rechecked against the upstream's own answer to their question",
      registers,
    });
    this.semanticFalseHits = new Counter({
      name: 'deja_semantic_false_hits_total',
      help: 'Rechecked semantic hits whose answer was wrong for their question',
      registers,
    });
    this.semanticExplorations = new Counter({
      name: 'deja_semantic_explorations_total',
      help: "Requests forwarded to learn whether the nearest entry's answer would have been right (verified mode)",
      registers,
    });
    this.teamHits = new Counter({
      name: 'deja_team_hits_total',
      help: "Hits answered from the team tier (a colleague's entry in the shared store), by outcome",
      labelNames: ['outcome'],
      registers,
    });
    const gauge = (name: string, help: string, read: () => number | undefined | Promise<number | undefined>) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const value = await read();
          if (value !== undefined) this.set(value);
        },
      });
    gauge('deja_cache_entries', 'Entries in the exact cache', () => sources.entries());
    gauge('deja_semantic_vectors', 'Vectors in the semantic index', () => sources.vectors());
    gauge('deja_vllm_prefix_cache_hit_rate', "The upstream vLLM's prefix-cache hit rate over the last scrape interval", () =>
      sources.vllmPrefixCacheHitRate(),
    );
    gauge('deja_vllm_kv_cache_usage', "The upstream vLLM's KV-cache usage (0-1)", () => sources.vllmKvCacheUsage());
  }

  observe(event: RequestEventDto): void {
    this.requests.inc({ endpoint: event.endpoint, outcome: event.outcome, reason: event.reason ?? '', model: event.model });
    this.duration.observe({ outcome: event.outcome }, event.gatewayMs / 1000);
    if (event.upstreamMs !== null) this.upstreamDuration.observe({ endpoint: event.endpoint }, event.upstreamMs / 1000);
    if (event.outcome === 'HIT' || event.outcome === 'SEMANTIC_HIT') {
      this.tokensSaved.inc({ kind: 'prompt' }, event.promptTokens);
      this.tokensSaved.inc({ kind: 'completion' }, event.completionTokens);
      if (event.tier === 'team') this.teamHits.inc({ outcome: event.outcome });
    }
    if (event.decision === 'explore') this.semanticExplorations.inc();
  }

  /** A served semantic hit judged against the upstream's answer. */
  observeSemanticCheck(wrong: boolean): void {
    this.semanticJudged.inc();
    if (wrong) this.semanticFalseHits.inc();
  }

  observeRevalidation(stale: boolean): void {
    this.revalidations.inc({ result: stale ? 'stale' : 'fresh' });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
