import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntryCatalog } from '../../../../src/core/catalog/entryCatalog';
import { DEFAULT_EVENT_LOG, EventLog } from '../../../../src/core/events/eventLog';
import { SqliteExactStore } from '../../../../src/core/stores/sqliteExactStore';
import { SqliteVectorStore } from '../../../../src/core/stores/sqliteVectorStore';
import type { CacheEntry } from '../../../../src/core/types';

/**
 * The exact store, the entry list, the event log and the vector store each hold their own
 * connection to cache.sqlite. A write batch that kept the write lock across event-loop turns
 * (BEGIN, one statement per row, COMMIT) froze the whole gateway under a write-heavy load:
 * the exact store's writes waited for the lock in SQLite's busy handler on every thread-pool
 * thread, the event loop blocked on their connection's mutex, and the batch holding the lock
 * could never commit. Seen as 45 s event-loop stalls and SQLITE_BUSY write failures.
 */
describe('the stores that share one database file', function () {
  this.timeout(30_000);

  it('write concurrently without stalling the event loop or failing a write', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'deja-shared-file-'));
    const file = join(dir, 'cache.sqlite');
    const exact = await SqliteExactStore.open({ file });
    const catalog = await EntryCatalog.open(file);
    const events = await EventLog.open({ ...DEFAULT_EVENT_LOG, file, retentionDays: 30, memoryEvents: 10 });
    const vectors = await SqliteVectorStore.open(file);
    await vectors.reset({ model: "a model's path", dimension: 4 });
    let maxLag = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      maxLag = Math.max(maxLag, now - last - 10);
      last = now;
    }, 10);
    let written = 0;
    let failed = 0;
    const until = performance.now() + 1500;
    try {
      await Promise.all(
        Array.from({ length: 24 }, async (_, worker) => {
          for (let i = 0; performance.now() < until; i++) {
            const id = `w${worker}-${i}`;
            const now = Date.now();
            const entry: CacheEntry = {
              version: 1,
              id,
              endpoint: 'chat.completions',
              model: 'm',
              tenant: 't',
              createdAt: now,
              expiresAt: now + 3_600_000,
              request: { model: 'm', messages: [{ role: 'user', content: id }] },
              response: { choices: [{ index: 0, message: { role: 'assistant', content: `it's ${id}` }, finish_reason: 'stop' }] },
              source: 'json',
            };
            try {
              await exact.set(entry);
              written++;
            } catch {
              failed++;
            }
            catalog.upsert({
              id,
              endpoint: 'chat.completions',
              model: 'm',
              prompt: id,
              answer: `it's ${id}`,
              createdAt: now,
              expiresAt: now + 1,
              lastHitAt: null,
              hits: 0,
              size: 10,
            });
            if (i > 0) catalog.touch(`w${worker}-${i - 1}`, now);
            events.record({
              at: now,
              endpoint: 'chat.completions',
              model: 'm',
              outcome: 'MISS',
              reason: null,
              rule: null,
              similarity: null,
              upstreamMs: 1,
              gatewayMs: 1,
              promptTokens: 1,
              completionTokens: 1,
              entryId: id,
              status: 200,
              stream: false,
            });
            // The semantic level writes and compacts one batch at a time.
            if (worker === 0 && i % 10 === 0) {
              await vectors.write([{ id, partition: 'p', codes: new Int8Array(4), scale: 1 }], []);
              await vectors.compact([{ id, partition: 'p', codes: new Int8Array(4), scale: 1 }], undefined);
            }
          }
        }),
      );
      await Promise.all([catalog.flush(), events.flush()]);
    } finally {
      clearInterval(ticker);
    }
    assert.equal(failed, 0, 'no write failed with SQLITE_BUSY');
    assert.ok(written > 500, `only ${written} entries written in 1.5 s`);
    assert.ok(maxLag < 1000, `the event loop stalled for ${Math.round(maxLag)} ms`);
    // Every batch landed, the touches included.
    const page = await catalog.list({ sort: 'created', order: 'desc', offset: 0, limit: 1 });
    assert.equal(page.total, written + failed);
    assert.equal((await catalog.get('w1-0'))?.hits, 1);
    assert.equal((await events.events(0, Date.now() + 1)).length, written + failed);
    assert.deepEqual(await vectors.space(), { model: "a model's path", dimension: 4 });
    await catalog.close();
    await events.close();
    await vectors.close();
    await exact.close();
    await rm(dir, { recursive: true, force: true });
  });
});
