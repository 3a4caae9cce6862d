import assert from 'node:assert/strict';
import type { Logger } from '../../../../src/core/logger';
import { MemoryExactStore } from '../../../../src/core/stores/memoryExactStore';
import type { ExactStore } from '../../../../src/core/stores/exactStore';
import { TieredExactStore } from '../../../../src/core/stores/tieredExactStore';
import type { CacheEntry } from '../../../../src/core/types';

const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

function entry(id: string): CacheEntry {
  return {
    version: 1,
    id,
    endpoint: 'chat.completions',
    model: 'm',
    tenant: 't',
    createdAt: Date.now(),
    expiresAt: Date.now() + 60_000,
    request: { q: id },
    response: { a: id },
    source: 'json',
  };
}

/** A team store (Redis in the gateway) that can be made slow or broken. */
class FlakyStore extends MemoryExactStore {
  mode: 'ok' | 'hang' | 'fail' = 'ok';
  override async get(id: string) {
    if (this.mode === 'hang') return new Promise<CacheEntry | undefined>(() => {});
    if (this.mode === 'fail') throw new Error('connection reset');
    return super.get(id);
  }
  override async set(value: CacheEntry) {
    if (this.mode !== 'ok') throw new Error('connection reset');
    return super.set(value);
  }
}

describe('TieredExactStore', () => {
  let local: ExactStore;
  let team: FlakyStore;
  let up: boolean;
  let store: TieredExactStore;

  beforeEach(() => {
    local = new MemoryExactStore();
    team = new FlakyStore();
    up = true;
    store = new TieredExactStore({ local, team, teamUp: () => up, logger: quiet });
  });

  it('writes to both tiers and reads the local one first', async () => {
    await store.set(entry('a'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(await local.get('a'));
    assert.ok(await team.get('a'));
    const read = await store.get('a');
    assert.ok(read);
    assert.equal(store.cameFromTeam(read), false);
  });

  it('finds a team entry on a local miss, marks it, and keeps a local copy', async () => {
    await team.set(entry('b'));
    const read = await store.get('b');
    assert.ok(read && store.cameFromTeam(read));
    const copy = await local.get('b');
    assert.deepEqual(copy, read);
    assert.equal(store.cameFromTeam((await store.get('b'))!), false, 'the next read is local');
  });

  it('never fails or waits long on a broken or hanging team tier', async () => {
    await team.set(entry('c'));
    team.mode = 'fail';
    assert.equal(await store.get('c'), undefined);
    await store.set(entry('d'));
    assert.ok(await local.get('d'), 'the local write stands when the team write fails');
    team.mode = 'hang';
    const began = Date.now();
    assert.equal(await store.get('c'), undefined);
    assert.ok(Date.now() - began < 1000, 'a hanging team read gives up quickly');
  });

  it('does not even ask the team tier while it is down', async () => {
    await team.set(entry('e'));
    up = false;
    assert.equal(await store.get('e'), undefined);
    await store.set(entry('f'));
    assert.equal(await team.get('f'), undefined);
  });

  it('evicts from both tiers, or only locally when asked', async () => {
    await store.set(entry('g'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await store.delete('g'), true);
    assert.equal(await team.get('g'), undefined);
    await store.set(entry('h'));
    await new Promise((resolve) => setImmediate(resolve));
    await store.deleteLocal('h');
    assert.equal(await local.get('h'), undefined);
    assert.ok(await team.get('h'));
  });

  it('lists and sweeps only local ids', async () => {
    await team.set(entry('x'));
    await local.set(entry('y'));
    assert.deepEqual([...(await store.ids())], ['y']);
  });
});
