import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TeamRegistry } from '../../../../src/core/team/teamRegistry';

describe('TeamRegistry', () => {
  it('keeps team ids across a reopen, drops the expired and the removed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'deja-registry-'));
    const file = join(dir, 'cache.sqlite');
    try {
      const now = Date.now();
      let registry = await TeamRegistry.open(file);
      registry.add('a', now + 60_000);
      registry.add('b', now + 60_000);
      registry.add('old', now - 1);
      registry.remove(['b']);
      await registry.close();
      registry = await TeamRegistry.open(file);
      assert.deepEqual([...(await registry.ids(now))], ['a']);
      assert.deepEqual(await registry.sweepExpired(now), ['old']);
      assert.deepEqual(await registry.sweepExpired(now), []);
      await registry.clear();
      assert.equal((await registry.ids(now)).size, 0);
      await registry.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
