import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_EVENT_LOG, EventLog, type NewRequestEvent } from '../../../../src/core/events/eventLog';

const base = (at: number, outcome: NewRequestEvent['outcome'] = 'MISS'): NewRequestEvent => ({
  at,
  endpoint: 'chat.completions',
  model: 'm',
  outcome,
  reason: null,
  rule: null,
  similarity: null,
  upstreamMs: 10,
  gatewayMs: 11,
  promptTokens: 1,
  completionTokens: 2,
  entryId: null,
  status: 200,
  stream: false,
});

describe('EventLog', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'deja-events-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps events across a restart, with skipped prompts and spans, newest first', async () => {
    const file = join(dir, 'cache.sqlite');
    let log = await EventLog.open({ ...DEFAULT_EVENT_LOG, file });
    const seen: number[] = [];
    log.subscribe((event) => seen.push(event.id));
    log.record(base(1000));
    log.record({
      ...base(2000, 'SKIP'),
      reason: 'code_generation',
      rule: 'code_generation/write-code',
      prompt: 'write a function',
      span: { field: 'messages[0].content', start: 0, end: 16, text: 'write a function' },
    });
    log.record({
      ...base(3000, 'SKIP'),
      reason: 'financial',
      prompt: 'NVDA price',
      span: { field: 'messages[0].content', start: 0, end: 4, text: 'NVDA' },
    });
    assert.deepEqual(seen, [1, 2, 3]);
    await log.close();

    log = await EventLog.open({ ...DEFAULT_EVENT_LOG, file });
    const events = await log.events(0, 10_000);
    assert.deepEqual(
      events.map((event) => event.id),
      [1, 2, 3],
    );
    assert.ok(!('prompt' in events[1]!), 'stats events carry no prompt text');
    const skipped = await log.skipped({ offset: 0, limit: 10 });
    assert.equal(skipped.total, 2);
    assert.deepEqual(
      skipped.items.map((item) => item.reason),
      ['financial', 'code_generation'],
    );
    assert.equal(skipped.items[1]!.span?.text, 'write a function');
    const financial = await log.skipped({ reason: 'financial', offset: 0, limit: 10 });
    assert.deepEqual([financial.total, financial.items[0]!.prompt], [1, 'NVDA price']);
    assert.equal(log.record(base(4000)).id, 4, 'ids continue after a restart');
    await log.close();
  });

  it('records revalidations and prunes by age and by count', async () => {
    const file = join(dir, 'cache.sqlite');
    const log = await EventLog.open({ ...DEFAULT_EVENT_LOG, file, retentionDays: 1, maxEvents: 3 });
    const now = Date.now();
    log.record(base(now - 3 * 86_400_000));
    for (let i = 0; i < 5; i++) log.record(base(now - i));
    log.recordRevalidation({ at: now, entryId: 'e', stale: true });
    await log.prune(now);
    const reopened = await EventLog.open({ ...DEFAULT_EVENT_LOG, file });
    assert.deepEqual(
      (await reopened.events(0, now + 1)).map((event) => event.id),
      [4, 5, 6],
    );
    assert.deepEqual(await reopened.revalidations(0, now + 1), [{ at: now, entryId: 'e', stale: true }]);
    await reopened.close();
    await log.close();
  });

  it('works in memory when there is no data directory', async () => {
    const log = await EventLog.open({ ...DEFAULT_EVENT_LOG, file: null });
    log.record({ ...base(5, 'SKIP'), reason: 'personalized', prompt: 'my calendar', span: null });
    assert.equal((await log.events(0, 10)).length, 1);
    assert.equal((await log.skipped({ offset: 0, limit: 5 })).items[0]!.prompt, 'my calendar');
    await log.close();
  });
});
