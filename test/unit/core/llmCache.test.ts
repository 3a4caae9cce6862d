import assert from 'node:assert/strict';
import { identifyRequest, tenantTag } from '../../../src/core/cacheKey';
import { LlmCache, unstorableReason } from '../../../src/core/llmCache';
import { silentLogger } from '../../../src/core/logger';
import type { ExactStore } from '../../../src/core/stores/exactStore';
import { MemoryExactStore } from '../../../src/core/stores/memoryExactStore';
import type { CacheEntry, JsonObject } from '../../../src/core/types';

const answer = (finish: string | null = 'stop'): JsonObject => ({
  id: 'x',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: finish }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});

describe('unstorableReason', () => {
  it('stores complete answers only', () => {
    assert.equal(unstorableReason('chat.completions', answer('stop')), undefined);
    assert.equal(unstorableReason('chat.completions', answer('tool_calls')), undefined);
    assert.match(String(unstorableReason('chat.completions', answer('length'))), /truncated/);
    assert.ok(unstorableReason('chat.completions', answer(null)));
    assert.ok(unstorableReason('chat.completions', answer('abort')));
    assert.ok(unstorableReason('chat.completions', { choices: [] }));
    assert.ok(unstorableReason('chat.completions', { error: { message: 'x' } }));
    assert.equal(unstorableReason('embeddings', { data: [{ embedding: [0.1] }] }), undefined);
    assert.ok(unstorableReason('embeddings', { data: [] }));
    assert.ok(unstorableReason('embeddings', { data: [{ nope: 1 }] }));
  });
});

describe('LlmCache', () => {
  let now = 1_000_000;
  const clock = () => now;
  const tenant = tenantTag('http://u/v1', undefined);
  const identity = identifyRequest('chat.completions', tenant, { model: 'm', messages: [{ role: 'user', content: 'hi' }] });
  const store = (cache: LlmCache, response = answer(), ttlSeconds = 60) =>
    cache.store({ endpoint: 'chat.completions', identity, tenant, model: 'm', response, source: 'json', ttlSeconds });

  it('returns a stored answer until its absolute expiry, and hits do not extend it', async () => {
    now = 1_000_000;
    const cache = new LlmCache({ exact: new MemoryExactStore(clock), logger: silentLogger, now: clock });
    const entry = await store(cache);
    assert.ok(entry);
    assert.equal(entry.expiresAt, now + 60_000);
    now += 59_000;
    assert.equal((await cache.lookupExact(identity, tenant))?.id, identity.key);
    now += 999;
    assert.ok(await cache.lookupExact(identity, tenant));
    now += 1;
    assert.equal(await cache.lookupExact(identity, tenant), undefined);
  });

  it('never stores a truncated answer, or with a TTL of 0', async () => {
    const cache = new LlmCache({ exact: new MemoryExactStore(clock), logger: silentLogger, now: clock });
    assert.equal(await store(cache, answer('length')), undefined);
    assert.equal(await store(cache, answer(), 0), undefined);
    assert.equal(await cache.lookupExact(identity, tenant), undefined);
  });

  it('does not serve an entry stored for another tenant or another request under the same id', async () => {
    const exact = new MemoryExactStore(clock);
    const cache = new LlmCache({ exact, logger: silentLogger, now: clock });
    const entry = (await store(cache))!;
    assert.equal(await cache.lookupExact(identity, tenantTag('http://u/v1', 'Bearer other')), undefined);
    const forged: CacheEntry = { ...entry, request: { model: 'm', messages: [{ role: 'user', content: 'something else' }] } };
    await exact.set(forged);
    assert.equal(await cache.lookupExact(identity, tenant), undefined);
  });

  it('degrades when the store fails: a read is a miss, a write is skipped', async () => {
    const broken: ExactStore = {
      get: async () => Promise.reject(new Error('disk on fire')),
      set: async () => Promise.reject(new Error('disk full')),
      delete: async () => false,
      clear: async () => {},
      ids: async () => new Set<string>(),
      sweepExpired: async () => Promise.reject(new Error('nope')),
      close: async () => {},
    };
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (message: string) => void warnings.push(message) };
    const cache = new LlmCache({ exact: broken, logger, now: clock });
    assert.equal(await cache.lookupExact(identity, tenant), undefined);
    assert.equal(await store(cache), undefined);
    assert.equal(await cache.sweepExpired(), 0);
    assert.equal(warnings.length, 3);
  });
});
