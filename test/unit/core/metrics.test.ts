import assert from 'node:assert/strict';
import { computeStats, percentile } from '../../../src/core/metrics';
import type { RequestEventDto } from '../../../src/shared/protocol';

let id = 0;
function event(at: number, outcome: RequestEventDto['outcome'], gatewayMs: number, extra: Partial<RequestEventDto> = {}): RequestEventDto {
  return {
    id: ++id,
    at,
    endpoint: 'chat.completions',
    model: 'a',
    outcome,
    reason: null,
    rule: null,
    similarity: null,
    upstreamMs: outcome === 'MISS' ? gatewayMs - 1 : null,
    gatewayMs,
    promptTokens: 10,
    completionTokens: 20,
    entryId: null,
    status: 200,
    stream: false,
    ...extra,
  };
}

describe('metrics', () => {
  it('nearest-rank percentiles', () => {
    assert.equal(percentile([], 50), null);
    assert.equal(percentile([5], 99), 5);
    assert.equal(percentile([4, 1, 3, 2], 50), 2);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 10);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), 9);
  });

  it('computes hit rates, latencies, savings and staleness on a scripted sequence', () => {
    // 10 requests in the window, two outside it.
    const events = [
      event(999, 'HIT', 1),
      event(1000, 'MISS', 900),
      event(1100, 'HIT', 2),
      event(1200, 'HIT', 4),
      event(1300, 'SEMANTIC_HIT', 12, { model: 'b', similarity: 0.97 }),
      event(1400, 'MISS', 1100),
      event(1500, 'SKIP', 800, { reason: 'code_generation' }),
      event(1600, 'SKIP', 700, { reason: 'time_sensitive' }),
      event(1700, 'SKIP', 600, { reason: 'code_generation' }),
      event(1800, 'BYPASS', 500, { model: 'b' }),
      event(1900, 'MISS', 1000, { model: 'b' }),
      event(2000, 'HIT', 1),
    ];
    const checks = [
      { at: 1000, entryId: 'x', stale: false },
      { at: 1500, entryId: 'y', stale: true },
      { at: 1600, entryId: 'z', stale: false },
      { at: 1700, entryId: 'w', stale: false },
      { at: 5000, entryId: 'v', stale: true },
    ];
    const stats = computeStats(events, checks, { from: 1000, to: 2000 }, 500);
    assert.equal(stats.requests, 10);
    assert.equal(stats.exactHits, 2);
    assert.equal(stats.semanticHits, 1);
    assert.equal(stats.misses, 3);
    assert.equal(stats.skipped, 3);
    assert.equal(stats.bypassed, 1);
    assert.equal(stats.hitRate, 3 / 10);
    assert.equal(stats.exactHitRate, 2 / 10);
    assert.equal(stats.semanticHitRate, 1 / 10);
    assert.deepEqual(stats.byModel, [
      { model: 'a', requests: 7, hits: 2, hitRate: 2 / 7 },
      { model: 'b', requests: 3, hits: 1, hitRate: 1 / 3 },
    ]);
    assert.deepEqual(stats.skippedByReason, { code_generation: 2, time_sensitive: 1 });
    // Hits: 2, 4, 12 ms. Misses: 900, 1100, 1000 ms.
    assert.deepEqual(stats.latency.hits, { count: 3, p50: 4, p99: 12 });
    assert.deepEqual(stats.latency.misses, { count: 3, p50: 1000, p99: 1100 });
    assert.equal(stats.savings.requestsNotSent, 0.3);
    assert.equal(stats.savings.promptTokensSaved, 30);
    assert.equal(stats.savings.completionTokensSaved, 60);
    assert.deepEqual(stats.staleness, { revalidated: 4, stale: 1, rate: 0.25 });
    assert.deepEqual(
      stats.timeline.map((bucket) => [bucket.at, bucket.requests, bucket.exactHits, bucket.semanticHits]),
      [
        [1000, 5, 2, 1],
        [1500, 5, 0, 0],
      ],
    );
  });

  it('reports no rate rather than zero when there is nothing to divide', () => {
    const stats = computeStats([], [], { from: 0, to: 1000 }, 0);
    assert.equal(stats.hitRate, null);
    assert.equal(stats.staleness.rate, null);
    assert.deepEqual(stats.latency.hits, { count: 0, p50: null, p99: null });
    assert.deepEqual(stats.timeline, []);
  });
});
