import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisConnection } from '../../../../src/core/team/redisConnection';
import { createLogger } from '../../../../src/core/logger';
import { RedisServer } from '../../../fixtures/redisServer';

describe('RedisConnection', function () {
  this.timeout(30_000);
  const redis = new RedisServer();
  let connection: RedisConnection | undefined;

  before(() => redis.start());
  after(async () => {
    await connection?.close();
    await redis.stop();
  });

  it('is down while Redis is away, since the moment it went, whatever the errors say meanwhile; then connected again', async () => {
    connection = new RedisConnection(redis.url, createLogger('error'));
    const seen: string[] = [];
    let wentDown: number | undefined;
    connection.onChange((status) => {
      seen.push(`${status.state}: ${status.reason ?? ''}`);
      if (status.state === 'down') wentDown ??= status.since;
    });
    // Read afresh each time: the state changes under the test's feet.
    const state = () => connection!.current.state;
    await connection.connect();
    assert.equal(state(), 'connected');
    assert.ok(connection.connected);

    await redis.kill();
    const deadline = Date.now() + 5000;
    while (state() !== 'down' && Date.now() < deadline) await sleep(20);
    assert.equal(state(), 'down');
    assert.equal(connection.connected, false);
    // Reconnect attempts fail on their own terms (a closed socket, then refused connections).
    await sleep(1500);
    assert.equal(state(), 'down');
    assert.ok(seen.filter((line) => line.startsWith('down')).length >= 2, `one reason only: ${seen.join(' | ')}`);
    const since = connection.current.since;
    assert.equal(since, wentDown, `since moved while down: ${seen.join(' | ')}`);

    await redis.start();
    const back = Date.now() + 10_000;
    while (!connection.connected && Date.now() < back) await sleep(50);
    assert.ok(connection.connected, `not reconnected: ${seen.join(' | ')}`);
    assert.ok(connection.current.since > since);
  });
});
