import assert from 'node:assert/strict';
import { redactRedisUrl, sharedStoreProblem } from '../../../src/core/shared/redisUrl';

describe('Redis URLs', () => {
  it('masks the password for logs and /health', () => {
    assert.equal(redactRedisUrl('redis://:s3cret@cache.internal:6379/0'), 'redis://:***@cache.internal:6379/0');
    assert.equal(redactRedisUrl('rediss://deja:s3cret@cache.internal:6380'), 'rediss://deja:***@cache.internal:6380');
    assert.equal(redactRedisUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
    assert.ok(!redactRedisUrl('not a url :s3cret@').includes('s3cret'));
  });

  it('accepts redis:// and rediss:// URLs with a host, and says what is wrong with others', () => {
    assert.equal(sharedStoreProblem('redis://127.0.0.1:6379'), undefined);
    assert.equal(sharedStoreProblem('rediss://user:pw@cache.example:6380/2'), undefined);
    assert.match(sharedStoreProblem('127.0.0.1:6379')!, /not a URL|not supported/);
    assert.match(sharedStoreProblem('http://cache:6379')!, /not supported/);
    assert.match(sharedStoreProblem('nonsense')!, /not a URL/);
  });
});
