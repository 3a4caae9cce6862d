import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteExactStore } from '../../../../src/core/stores/sqliteExactStore';
import type { CacheEntry } from '../../../../src/core/types';

function entry(id: string, ttlMs: number): CacheEntry {
  const now = Date.now();
  return {
    version: 1,
    id,
    endpoint: 'chat.completions',
    model: 'm',
    tenant: 't',
    createdAt: now,
    expiresAt: now + ttlMs,
    request: { model: 'm', messages: [{ role: 'user', content: `q ${id}` }] },
    response: { choices: [{ index: 0, message: { role: 'assistant', content: `a ${id}` }, finish_reason: 'stop' }] },
    source: 'json',
  };
}

describe('SqliteExactStore (keyv + @keyv/sqlite)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'deja-store-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stores, reads back, deletes and clears entries, and keeps them across a reopen', async () => {
    const file = join(dir, 'cache.sqlite');
    let store = await SqliteExactStore.open({ file });
    const a = entry('a', 60_000);
    const b = entry('b', 60_000);
    await store.set(a);
    await store.set(b);
    assert.deepEqual(await store.get('a'), a);
    assert.equal(await store.delete('a'), true);
    assert.equal(await store.get('a'), undefined);
    await store.close();
    store = await SqliteExactStore.open({ file });
    assert.deepEqual(await store.get('b'), b);
    await store.clear();
    assert.equal(await store.get('b'), undefined);
    await store.close();
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('expires entries absolutely and sweeps them', async () => {
    const store = await SqliteExactStore.open({ file: join(dir, 'cache.sqlite') });
    await store.set(entry('short', 50));
    await store.set(entry('long', 60_000));
    assert.ok(await store.get('short'));
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.deepEqual(await store.sweepExpired(Date.now()), ['short']);
    assert.equal(await store.get('short'), undefined);
    assert.ok(await store.get('long'));
    await store.close();
  });

  it('fails to open with a clear message when the file cannot be created', async () => {
    await assert.rejects(SqliteExactStore.open({ file: join(dir, 'missing-dir', 'x', 'cache.sqlite') }), /cannot open the cache database/);
  });
});
