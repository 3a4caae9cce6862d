import assert from 'node:assert/strict';
import { EntryCatalog } from '../../../../src/core/catalog/entryCatalog';
import type { EntrySummaryDto } from '../../../../src/shared/protocol';

const summary = (id: string, prompt: string, extra: Partial<EntrySummaryDto> = {}): EntrySummaryDto => ({
  id,
  endpoint: 'chat.completions',
  model: 'm',
  prompt,
  answer: `answer to ${prompt}`,
  createdAt: 1000,
  expiresAt: 9000,
  lastHitAt: null,
  hits: 0,
  size: 100,
  ...extra,
});

describe('EntryCatalog', () => {
  it('searches case-insensitively in any script, sorts, pages and counts hits', async () => {
    const catalog = await EntryCatalog.open(null);
    catalog.upsert(summary('a', 'What is a Cache?', { createdAt: 1, size: 300 }));
    catalog.upsert(summary('b', 'Что такое КЭШ?', { createdAt: 2, size: 200 }));
    catalog.upsert(summary('c', 'Capital of France', { createdAt: 3, size: 100, model: 'other' }));
    catalog.touch('b', 5000);
    catalog.touch('b', 6000);
    catalog.touch('a', 7000);
    assert.deepEqual(
      (await catalog.list({ search: 'CACHE', sort: 'created', order: 'asc', offset: 0, limit: 10 })).items.map((i) => i.id),
      ['a'],
    );
    assert.deepEqual(
      (await catalog.list({ search: 'кэш', sort: 'created', order: 'asc', offset: 0, limit: 10 })).items.map((i) => i.id),
      ['b'],
    );
    assert.deepEqual(
      (await catalog.list({ search: '100%_', sort: 'created', order: 'asc', offset: 0, limit: 10 })).total,
      0,
      'wildcards are literal',
    );
    const byHits = await catalog.list({ sort: 'hits', order: 'desc', offset: 0, limit: 10 });
    assert.deepEqual(
      byHits.items.map((i) => [i.id, i.hits]),
      [
        ['b', 2],
        ['a', 1],
        ['c', 0],
      ],
    );
    assert.equal(byHits.items[0]!.lastHitAt, 6000);
    assert.deepEqual(
      (await catalog.list({ sort: 'lastHit', order: 'desc', offset: 0, limit: 10 })).items.map((i) => i.id),
      ['a', 'b', 'c'],
      'never hit sorts last',
    );
    const page = await catalog.list({ sort: 'size', order: 'asc', offset: 1, limit: 1 });
    assert.deepEqual([page.total, page.offset, page.items.map((i) => i.id)], [3, 1, ['b']]);
    assert.deepEqual(await catalog.matching({ model: 'other' }), ['c']);
    catalog.remove(['a']);
    assert.deepEqual([...(await catalog.ids())].sort(), ['b', 'c']);
    await catalog.clear();
    assert.equal((await catalog.list({ sort: 'created', order: 'desc', offset: 0, limit: 10 })).total, 0);
    await catalog.close();
  });
});
