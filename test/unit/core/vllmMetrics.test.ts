import assert from 'node:assert/strict';
import { parsePrometheus, readVllm, vllmFigures } from '../../../src/core/vllmMetrics';

const scrape = (hits: number, queries: number, usage: number, prefix = 'vllm:') =>
  [
    '# HELP vllm:prefix_cache_hits_total Prefix cache hits.',
    '# TYPE vllm:prefix_cache_hits_total counter',
    `${prefix}prefix_cache_hits_total{engine="0",model_name="llama"} ${hits / 2}`,
    `${prefix}prefix_cache_hits_total{engine="1",model_name="llama"} ${hits / 2}`,
    `${prefix}prefix_cache_queries_total{engine="0",model_name="llama"} ${queries}`,
    `${prefix}${prefix.includes('gpu') ? 'cache_usage_perc' : 'kv_cache_usage_perc'}{model_name="llama"} ${usage}`,
    'process_cpu_seconds_total 12.5',
  ].join('\n');

describe('vLLM metrics', () => {
  it('parses the text format, labels with escapes included, and skips junk lines', () => {
    const samples = parsePrometheus('# comment\nmetric_a{a="x\\"y",b="z"} 3\nnot a sample line at all\nmetric_b 4 1700000000\n');
    assert.deepEqual(samples, [
      { name: 'metric_a', labels: { a: 'x"y', b: 'z' }, value: 3 },
      { name: 'metric_b', labels: {}, value: 4 },
    ]);
    assert.throws(() => parsePrometheus('<html>nope</html>'), /no Prometheus samples/);
  });

  it('computes the prefix-cache hit rate from counter deltas, summed over engines', () => {
    const first = readVllm(parsePrometheus(scrape(100, 400, 0.2)), 1000);
    const second = readVllm(parsePrometheus(scrape(160, 500, 0.35)), 2000);
    assert.equal(second.naming, 'current');
    const figures = vllmFigures(first, second, undefined, []);
    assert.deepEqual(figures.prefixCacheHitRate, { available: true, value: 0.6 });
    assert.deepEqual(figures.prefixCacheHitRateTotal, { available: true, value: 160 / 500 });
    assert.deepEqual(figures.kvCacheUsage, { available: true, value: 0.35 });
  });

  it('reads the older gpu_ names too', () => {
    const reading = readVllm(parsePrometheus(scrape(10, 20, 0.5, 'vllm:gpu_')), 1000);
    assert.equal(reading.naming, 'legacy');
    assert.deepEqual([reading.hits, reading.queries, reading.usage], [10, 20, 0.5]);
  });

  it('reports missing metrics, a first scrape, a restart and an error as unavailable, never as zero', () => {
    const bare = readVllm(parsePrometheus('process_cpu_seconds_total 1'), 1000);
    const missing = vllmFigures(undefined, bare, undefined, []);
    assert.equal(missing.naming, 'unknown');
    assert.deepEqual(missing.kvCacheUsage, { available: false, reason: 'the server does not expose this metric' });
    const firstOnly = vllmFigures(undefined, readVllm(parsePrometheus(scrape(1, 2, 0.1)), 1), undefined, []);
    assert.deepEqual(firstOnly.prefixCacheHitRate, { available: false, reason: 'needs two scrapes' });
    const restarted = vllmFigures(
      readVllm(parsePrometheus(scrape(100, 400, 0)), 1),
      readVllm(parsePrometheus(scrape(2, 4, 0)), 2),
      undefined,
      [],
    );
    assert.deepEqual(restarted.prefixCacheHitRate, { available: false, reason: 'the server restarted' });
    const failed = vllmFigures(undefined, undefined, 'connection refused', []);
    assert.deepEqual(failed.prefixCacheHitRate, { available: false, reason: 'connection refused' });
  });
});
