import assert from 'node:assert/strict';
import { DEFAULT_OPTIONS, parseSize, resolveOptions } from '../../../src/core/options';

describe('resolveOptions', () => {
  it('uses the embedded defaults when nothing is set', () => {
    const options = resolveOptions({}, {});
    assert.equal(options.host, '127.0.0.1');
    assert.equal(options.port, 8787);
    assert.equal(options.upstream, 'http://127.0.0.1:8000/v1');
    assert.equal(options.ttlSeconds, 3600);
    assert.match(String(options.dataDir), /\.deja$/);
    assert.deepEqual(options, { ...DEFAULT_OPTIONS });
  });

  it('reads DEJA_* variables, and a flag wins over its variable', () => {
    const env = {
      DEJA_PORT: '9000',
      DEJA_TTL: '60',
      DEJA_UPSTREAM: 'https://gpu.example:8443/v1/',
      DEJA_LOG_LEVEL: 'DEBUG',
      DEJA_DATA: '/tmp/x',
    };
    const fromEnv = resolveOptions({}, env);
    assert.equal(fromEnv.port, 9000);
    assert.equal(fromEnv.ttlSeconds, 60);
    assert.equal(fromEnv.upstream, 'https://gpu.example:8443/v1');
    assert.equal(fromEnv.logLevel, 'debug');
    assert.equal(fromEnv.dataDir, '/tmp/x');
    assert.equal(resolveOptions({ port: '9100' }, env).port, 9100);
  });

  it('treats an empty variable as unset', () => {
    assert.equal(resolveOptions({}, { DEJA_PORT: '' }).port, 8787);
  });

  it('says which flag or variable is wrong', () => {
    assert.throws(() => resolveOptions({ port: '70000' }, {}), /--port: port must be a whole number/);
    assert.throws(() => resolveOptions({}, { DEJA_TTL: '1.5' }), /DEJA_TTL: ttl must be a whole number/);
    assert.throws(() => resolveOptions({ upstream: 'ftp://x' }, {}), /--upstream: upstream must be an http/);
    assert.throws(() => resolveOptions({ upstream: 'not a url' }, {}), /--upstream/);
    assert.throws(() => resolveOptions({ 'log-level': 'loud' }, {}), /--log-level/);
    assert.throws(() => resolveOptions({ caching: 'maybe' }, {}), /--caching/);
  });

  it("decides semantic hits verified by default, within 2% wrong, judged by the answers' embeddings", () => {
    const options = resolveOptions({}, {});
    assert.deepEqual(
      [options.semanticMode, options.maxFalseHitRate, options.semanticFloor, options.answerJudge],
      ['verified', 0.02, 0.7, 'embedding'],
    );
    const chosen = resolveOptions(
      { 'semantic-mode': 'static', 'answer-judge': 'llm' },
      { DEJA_MAX_FALSE_HIT_RATE: '0.05', DEJA_SEMANTIC_FLOOR: '0.8' },
    );
    assert.deepEqual([chosen.semanticMode, chosen.maxFalseHitRate, chosen.semanticFloor, chosen.answerJudge], ['static', 0.05, 0.8, 'llm']);
    assert.throws(() => resolveOptions({ 'semantic-mode': 'fuzzy' }, {}), /--semantic-mode: semantic mode must be one of verified, static/);
    assert.throws(
      () => resolveOptions({ 'max-false-hit-rate': '0' }, {}),
      /--max-false-hit-rate: must be a fraction above 0 and below 0.5/,
    );
    assert.throws(() => resolveOptions({ 'max-false-hit-rate': '0.5' }, {}), /--max-false-hit-rate/);
    assert.throws(
      () => resolveOptions({}, { DEJA_ANSWER_JUDGE: 'vibes' }),
      /DEJA_ANSWER_JUDGE: answer judge must be one of embedding, exact, llm/,
    );
  });

  it('converts the upstream timeout to milliseconds and sizes to bytes', () => {
    assert.equal(resolveOptions({ 'upstream-timeout': '30' }, {}).upstreamTimeoutMs, 30_000);
    assert.equal(parseSize('16mb'), 16 * 1024 * 1024);
    assert.equal(parseSize('512KB'), 512 * 1024);
    assert.equal(parseSize('4096'), 4096);
    assert.throws(() => parseSize('lots'));
  });
});
