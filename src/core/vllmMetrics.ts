import type { Maybe, VllmFiguresDto } from '../shared/protocol';

/** One sample of the Prometheus text format. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Parses the Prometheus text exposition format, leniently: comments and lines it
 * does not understand are skipped. Throws only when nothing in the text is a sample.
 */
export function parsePrometheus(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) continue;
    const value = Number(match[4]);
    if (!Number.isFinite(value) && !/^[+-]?Inf$|^NaN$/.test(match[4]!)) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[3] ?? '').matchAll(LABEL)) labels[label[1]!] = label[2]!.replace(/\\(.)/g, '$1');
    samples.push({ name: match[1]!, labels, value });
  }
  if (samples.length === 0 && text.trim() !== '') throw new Error('no Prometheus samples in the response');
  return samples;
}

/** vLLM's names, current first, then the pre-0.9 `gpu_` ones. */
const NAMES = {
  current: { hits: 'vllm:prefix_cache_hits_total', queries: 'vllm:prefix_cache_queries_total', usage: 'vllm:kv_cache_usage_perc' },
  legacy: { hits: 'vllm:gpu_prefix_cache_hits_total', queries: 'vllm:gpu_prefix_cache_queries_total', usage: 'vllm:gpu_cache_usage_perc' },
} as const;

/** The counters and gauge read from one scrape; undefined where the server does not expose them. */
export interface VllmReading {
  at: number;
  naming: 'current' | 'legacy' | 'unknown';
  hits: number | undefined;
  queries: number | undefined;
  usage: number | undefined;
}

function sum(samples: PromSample[], name: string): number | undefined {
  const matching = samples.filter((sample) => sample.name === name && Number.isFinite(sample.value));
  return matching.length ? matching.reduce((total, sample) => total + sample.value, 0) : undefined;
}

function max(samples: PromSample[], name: string): number | undefined {
  const matching = samples.filter((sample) => sample.name === name && Number.isFinite(sample.value));
  return matching.length ? Math.max(...matching.map((sample) => sample.value)) : undefined;
}

/** Reads vLLM's prefix-cache counters and KV-cache usage, summed over engines and models. */
export function readVllm(samples: PromSample[], at: number): VllmReading {
  for (const naming of ['current', 'legacy'] as const) {
    const names = NAMES[naming];
    const hits = sum(samples, names.hits);
    const queries = sum(samples, names.queries);
    const usage = max(samples, names.usage);
    if (hits !== undefined || queries !== undefined || usage !== undefined) return { at, naming, hits, queries, usage };
  }
  return { at, naming: 'unknown', hits: undefined, queries: undefined, usage: undefined };
}

const unavailable = (reason: string): { available: false; reason: string } => ({ available: false, reason });

/**
 * The figures the dashboard shows from the last two readings: the prefix-cache hit
 * rate over the interval (from the counters' deltas), since start, and KV usage.
 * Missing metrics are reported as unavailable with the reason, never as zero.
 */
export function vllmFigures(
  previous: VllmReading | undefined,
  current: VllmReading | undefined,
  error: string | undefined,
  history: VllmFiguresDto['history'],
): VllmFiguresDto {
  if (!current) {
    const reason = error ?? 'not scraped yet';
    return {
      prefixCacheHitRate: unavailable(reason),
      prefixCacheHitRateTotal: unavailable(reason),
      kvCacheUsage: unavailable(reason),
      naming: 'unknown',
      scrapedAt: null,
      history,
    };
  }
  const missing = 'the server does not expose this metric';
  let interval: Maybe<number> = unavailable(missing);
  if (current.hits !== undefined && current.queries !== undefined) {
    if (!previous || previous.hits === undefined || previous.queries === undefined) interval = unavailable('needs two scrapes');
    else {
      const queries = current.queries - previous.queries;
      const hits = current.hits - previous.hits;
      // A counter that went down means the server restarted: this interval has no meaning.
      if (queries < 0 || hits < 0) interval = unavailable('the server restarted');
      else interval = queries === 0 ? unavailable('no prefix-cache queries in the interval') : { available: true, value: hits / queries };
    }
  }
  const total: Maybe<number> =
    current.hits !== undefined && current.queries !== undefined
      ? current.queries === 0
        ? unavailable('no prefix-cache queries yet')
        : { available: true, value: current.hits / current.queries }
      : unavailable(missing);
  return {
    prefixCacheHitRate: error ? unavailable(error) : interval,
    prefixCacheHitRateTotal: error ? unavailable(error) : total,
    kvCacheUsage: error
      ? unavailable(error)
      : current.usage !== undefined
        ? { available: true, value: current.usage }
        : unavailable(missing),
    naming: current.naming,
    scrapedAt: current.at,
    history,
  };
}
