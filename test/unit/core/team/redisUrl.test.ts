import assert from 'node:assert/strict';
import { redactRedisUrl, redisUrlProblem } from '../../../../src/core/team/redisUrl';

describe('Redis URLs', () => {
  it('masks the password for logs and /health', () => {
    assert.equal(redactRedisUrl('redis://:s3cret@cache.internal:6379/0'), 'redis://:***@cache.internal:6379/0');
    assert.equal(redactRedisUrl('rediss://deja:s3cret@cache.internal:6380'), 'rediss://deja:***@cache.internal:6380');
    assert.equal(redactRedisUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
    assert.ok(!redactRedisUrl('not a url :s3cret@').includes('s3cret'));
  });

  it('accepts redis:// and rediss:// URLs with a host, and says what is wrong with others', () => {
    assert.equal(redisUrlProblem('redis://127.0.0.1:6379'), undefined);
    assert.equal(redisUrlProblem('rediss://user:pw@cache.example:6380/2'), undefined);
    assert.match(redisUrlProblem('127.0.0.1:6379')!, /not a URL|not supported/);
    assert.match(redisUrlProblem('http://cache:6379')!, /not supported/);
    assert.match(redisUrlProblem('nonsense')!, /not a URL/);
  });
});
