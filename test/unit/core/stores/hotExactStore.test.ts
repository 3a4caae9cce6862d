import assert from 'node:assert/strict';
import { HotExactStore } from '../../../../src/core/stores/hotExactStore';
import { MemoryExactStore } from '../../../../src/core/stores/memoryExactStore';
import type { CacheEntry } from '../../../../src/core/types';

function entry(id: string, expiresAt: number, size = 10): CacheEntry {
  return {
    version: 1,
    id,
    endpoint: 'chat.completions',
    model: 'm',
    tenant: 't',
    createdAt: 0,
    expiresAt,
    request: { model: 'm', messages: [{ role: 'user', content: id }] },
    response: { choices: [{ index: 0, message: { role: 'assistant', content: 'x'.repeat(size) }, finish_reason: 'stop' }] },
    source: 'json',
  };
}

describe('HotExactStore', () => {
  let now = 1000;
  const clock = () => now;

  it('answers from memory after the first read, and follows writes and deletes', async () => {
    const inner = new MemoryExactStore(clock);
    const hot = new HotExactStore(inner, 1_000_000, clock);
    await inner.set(entry('a', 5000));
    const first = await hot.get('a');
    await inner.delete('a'); // memory keeps it: the hot tier answers without the store
    assert.equal(await hot.get('a'), first);
    await hot.delete('a');
    assert.equal(await hot.get('a'), undefined);
    await hot.set(entry('b', 5000));
    assert.ok(await inner.get('b'), 'writes go through');
    await hot.clear();
    assert.equal(await hot.get('b'), undefined);
    assert.equal(await inner.get('b'), undefined);
  });

  it('never returns an expired entry, and drops expired ones on a sweep', async () => {
    now = 1000;
    const hot = new HotExactStore(new MemoryExactStore(clock), 1_000_000, clock);
    await hot.set(entry('a', 2000));
    await hot.set(entry('b', 9000));
    now = 2000;
    assert.equal(await hot.get('a'), undefined);
    now = 9500;
    assert.deepEqual((await hot.sweepExpired(now)).sort(), ['a', 'b'], 'both leave the store underneath');
    assert.equal(hot.stats.entries, 0);
  });

  it('serves a new entry once the store underneath has it (a HIT survives a crash), and not when it refuses it', async () => {
    now = 0;
    const inner = new MemoryExactStore(clock);
    let release!: () => void;
    const slowInner = {
      ...inner,
      get: async () => undefined,
      delete: async () => true,
      set: () => new Promise<void>((resolve) => (release = resolve)),
    } as unknown as MemoryExactStore;
    const hot = new HotExactStore(slowInner, 1_000_000, clock);
    const pending = hot.set(entry('a', 1e9));
    let answered = false;
    const reading = hot.get('a').then((found) => {
      answered = true;
      return found;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(answered, false, 'a read waits for the write in progress, rather than answer before it commits');
    release();
    await pending;
    assert.equal((await reading)?.id, 'a', 'then gets the new entry');
    assert.ok(await hot.get('a'), 'served from memory once written');
    // A delete while the write is in progress is not undone when the write completes.
    const deleted = hot.set(entry('c', 1e9));
    await hot.delete('c');
    release();
    await deleted;
    assert.equal(await hot.get('c'), undefined);
    const failing = {
      ...inner,
      get: inner.get.bind(inner),
      set: async () => Promise.reject(new Error('disk full')),
    } as unknown as MemoryExactStore;
    const hot2 = new HotExactStore(failing, 1_000_000, clock);
    await assert.rejects(hot2.set(entry('b', 1e9)), /disk full/);
    assert.equal(await hot2.get('b'), undefined);
  });

  it('stays within its memory budget, evicting the least recently used', async () => {
    now = 0;
    const hot = new HotExactStore(new MemoryExactStore(clock), 40_000, clock);
    for (let i = 0; i < 20; i++) await hot.set(entry(`e${i}`, 1e9, 1000));
    assert.ok(hot.stats.bytes <= 40_000, `${hot.stats.bytes} bytes held`);
    assert.ok(hot.stats.entries < 20 && hot.stats.entries > 3);
    // Evicted from memory, still in the store underneath.
    assert.ok(await hot.get('e0'));
    await hot.set(entry('huge', 1e9, 100_000));
    assert.ok(hot.stats.bytes <= 40_000, 'one oversized entry is not kept in memory');
  });
});
