import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { routePath } from '../../../src/gateway/createApp';
import { pipeline, type Middleware } from '../../../src/gateway/pipeline';

const req = {} as IncomingMessage;
const res = {} as ServerResponse;

/** Runs a pipeline and resolves with the steps that ran and the error answered, if any. */
function run(steps: (log: string[]) => Middleware[]): Promise<{ log: string[]; error: unknown }> {
  return new Promise((resolve) => {
    const log: string[] = [];
    const built = steps(log);
    const last: Middleware = () => resolve({ log, error: undefined });
    pipeline([...built, last], (error) => resolve({ log, error }))(req, res);
  });
}

describe('pipeline', () => {
  it('runs the steps in order, each on next()', async () => {
    const result = await run((log) => [
      (_q, _s, next) => {
        log.push('a');
        next();
      },
      (_q, _s, next) => {
        log.push('b');
        setImmediate(next);
      },
    ]);
    assert.deepEqual(result, { log: ['a', 'b'], error: undefined });
  });

  it('stops at next(error) and answers it', async () => {
    const failure = new Error('refused');
    const result = await run((log) => [
      (_q, _s, next) => next(failure),
      () => {
        log.push('never');
      },
    ]);
    assert.deepEqual(result, { log: [], error: failure });
  });

  it('answers a thrown error and a rejected promise', async () => {
    const thrown = new Error('thrown');
    assert.equal(
      (
        await run(() => [
          () => {
            throw thrown;
          },
        ])
      ).error,
      thrown,
    );
    const rejected = new Error('rejected');
    assert.equal((await run(() => [async () => Promise.reject(rejected)])).error, rejected);
  });

  it('stops when a step answers without calling next', async () => {
    let answered = false;
    pipeline(
      [
        () => {
          answered = true;
        },
        () => assert.fail('a step after the answer ran'),
      ],
      () => assert.fail('no error was expected'),
    )(req, res);
    assert.equal(answered, true);
  });
});

describe('routePath', () => {
  it('matches as express matched: without the query, any case, one trailing slash', () => {
    assert.equal(routePath('/v1/chat/completions'), '/v1/chat/completions');
    assert.equal(routePath('/V1/Chat/Completions/'), '/v1/chat/completions');
    assert.equal(routePath('/v1/embeddings?x=1&y=/'), '/v1/embeddings');
    assert.equal(routePath('/'), '/');
    assert.equal(routePath(undefined), '');
    assert.equal(routePath('/v1/chat/completions//'), '/v1/chat/completions/');
  });
});
