/**
 * What a crash or a broken disk leaves behind: a full disk (stores fail softly, lookups and
 * forwarding go on), a damaged vector snapshot or log (detected at start-up, the index rebuilt
 * from the stored entries), and a short version of `npm run crash` (SIGKILL during a
 * write-heavy load, restart, check). The 20-kill run is `npm run crash`; see RELIABILITY.md.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { runCrashTest } from '../../scripts/crashTest';
import type { Logger } from '../../src/core/logger';
import { DATABASE_FILE } from '../../src/core/openCache';
import { DEFAULT_OPTIONS, type GatewayOptions } from '../../src/core/options';
import { VectorIndex } from '../../src/core/semantic/vectorIndex';
import { SqliteVectorStore } from '../../src/core/stores/sqliteVectorStore';
import type { JsonObject } from '../../src/core/types';
import { startGateway, type RunningGateway } from '../../src/gateway/startGateway';
import { FakeEmbedder } from '../fixtures/fakeEmbedder';
import { planAnswer, SimVllm } from '../fixtures/simVllm';
import { CapturingLogger, MODEL, readSse, sleep } from './harness';

const AUTH = 'Bearer sk-crash';
let sim: SimVllm;

/** What the simulated vLLM answers to a chat request, with its current settings. */
const simContent = (body: JsonObject): string => planAnswer('/v1/chat/completions', body, sim.config).words.join(' ');

/** Compares long answers without printing them whole. */
function assertAnswer(actual: string, body: JsonObject, what: string): void {
  const expected = simContent(body);
  assert.ok(
    actual === expected,
    `${what}: got ${actual.length} characters "${actual.slice(0, 80)}…", expected ${expected.length} "${expected.slice(0, 80)}…"`,
  );
}
const ask = (content: string): JsonObject => ({ model: MODEL, messages: [{ role: 'user', content }] });

async function start(
  dataDir: string,
  upstream: string,
  logger: CapturingLogger,
  extra: Partial<GatewayOptions> = {},
): Promise<RunningGateway> {
  return startGateway(
    {
      ...DEFAULT_OPTIONS,
      port: 0,
      dataDir,
      upstream,
      logLevel: 'error',
      semantic: true,
      semanticMode: 'static',
      semanticThreshold: 0.9,
      revalidateShare: 0,
      vllmMetricsIntervalMs: 0,
      ...extra,
    },
    { logger: logger as Logger, embedder: new FakeEmbedder() },
  );
}

function post(gateway: RunningGateway, body: JsonObject): Promise<Response> {
  return fetch(`${gateway.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: AUTH },
    body: JSON.stringify(body),
  });
}

/** Posts and reads the answer's text (from JSON or a stream) and the cache outcome. */
async function askFor(
  gateway: RunningGateway,
  body: JsonObject,
): Promise<{ status: number; cache: string | null; entry: string | null; content: string }> {
  const res = await post(gateway, body);
  const cache = res.headers.get('x-deja-cache');
  const entry = res.headers.get('x-deja-entry');
  if (body.stream) {
    const { events, done } = await readSse(res);
    assert.ok(done, 'the stream reached [DONE]');
    const content = events
      .map((data) => (JSON.parse(data) as { choices: Array<{ delta?: { content?: string } }> }).choices[0]?.delta?.content ?? '')
      .join('');
    return { status: res.status, cache, entry, content };
  }
  const json = (await res.json()) as { choices?: Array<{ message: { content: string } }>; error?: { message: string } };
  return { status: res.status, cache, entry, content: json.choices?.[0]?.message.content ?? `error: ${json.error?.message}` };
}

/** Waits until the semantic level is ready with no backlog (and `expected` vectors, when given: the last store may still run), and returns its vector count. */
async function indexSettled(gateway: RunningGateway, expected?: number): Promise<number> {
  const semantic = gateway.context.cache.semantic!;
  await semantic.start();
  for (let i = 0; i < 200; i++) {
    const status = semantic.status();
    if (status.state === 'ready' && status.backlog === 0 && (expected === undefined || status.entries === expected)) {
      await semantic.flush();
      return status.entries ?? 0;
    }
    await sleep(25);
  }
  throw new Error(`the semantic index did not settle: ${JSON.stringify(semantic.status())}`);
}

describe('a full disk', function () {
  this.timeout(30_000);
  let mountPoint: string | undefined;
  let gateway: RunningGateway | undefined;

  before(async function () {
    mountPoint = await mkdtemp(join(tmpdir(), 'deja-full-disk-'));
    try {
      // A small filesystem of its own, so that filling it up touches nothing else.
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    } catch (error) {
      const reason = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim();
      await rm(mountPoint, { recursive: true, force: true });
      mountPoint = undefined;
      // Needs root (or CAP_SYS_ADMIN) for mount: skipped, and says so.
      process.stdout.write(`  (skipped: cannot mount a small tmpfs to fill up: ${reason})\n`);
      this.skip();
    }
    // Answers of ~12 KB: a few of them need more room than SQLite's write-ahead log can reuse.
    sim = new SimVllm({ answerWords: 2000 });
  });
  after(async () => {
    await gateway?.close();
    await sim?.stop();
    if (mountPoint) {
      execFileSync('umount', [mountPoint]);
      await rm(mountPoint, { recursive: true, force: true });
    }
  });

  it('makes stores fail softly, while lookups and forwarding go on; stores resume once there is room', async () => {
    const upstream = await sim.start();
    const dataDir = join(mountPoint!, 'data');
    const logger = new CapturingLogger();
    gateway = await start(dataDir, upstream, logger);
    // Questions the fake model keeps far apart, so that each is answered for itself.
    const before = ['lighthouses', 'canals', 'orchards', 'harbours'].map((topic) => ask(`Describe ${topic}`));
    for (const body of before) assert.equal((await askFor(gateway, body)).cache, 'MISS');
    await indexSettled(gateway);
    for (const body of before) assert.equal((await askFor(gateway, body)).cache, 'HIT');

    // Fill the filesystem to the last byte.
    const filler = join(mountPoint!, 'filler');
    const handle = await open(filler, 'w');
    try {
      const block = Buffer.alloc(64 * 1024);
      for (;;) await handle.write(block);
    } catch (error) {
      assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
    } finally {
      await handle.close().catch(() => {});
    }
    for (let size = 4096; size >= 1; size = Math.floor(size / 2)) {
      await writeFile(join(mountPoint!, `crumb-${size}`), Buffer.alloc(size)).catch(() => {});
    }

    // New questions, as JSON and as streams: answered by the upstream, right, every one.
    const topics = [
      'bridges',
      'rivers',
      'islands',
      'forests',
      'caves',
      'meadows',
      'bays',
      'cliffs',
      'dunes',
      'lagoons',
      'marshes',
      'prairies',
    ];
    const fresh = topics.map((topic, i) => ({ ...ask(`Summarize ${topic}`), ...(i % 3 === 0 ? { stream: true } : {}) }));
    for (const body of fresh) {
      const answer = await askFor(gateway, body);
      assert.equal(answer.status, 200, answer.content);
      assert.equal(answer.cache, 'MISS');
      assertAnswer(answer.content, body, 'a new question on a full disk');
    }
    // Entries stored earlier are still served, exactly and by meaning.
    for (const body of before) {
      const answer = await askFor(gateway, body);
      assert.equal(answer.cache, 'HIT');
      assertAnswer(answer.content, body, 'a stored answer on a full disk');
    }
    const paraphrase = await askFor(gateway, ask('Please describe orchards'));
    assert.equal(paraphrase.cache, 'SEMANTIC_HIT');
    assertAnswer(paraphrase.content, before[2]!, 'a semantic hit on a full disk');
    // The stores failed, and said so in the log (not as internal errors).
    await sleep(100);
    const warnings = logger.lines.filter((line) => line.level === 'warn').map((line) => line.message);
    assert.ok(warnings.includes('cache write failed; the answer was served but not stored'), warnings.join('\n'));
    assert.deepEqual(
      logger.lines.filter((line) => line.level === 'error'),
      [],
    );
    // Asked again: a MISS (nothing half-stored answers it), right again.
    const again = await askFor(gateway, { ...fresh[1]!, stream: false });
    assert.equal(again.cache, 'MISS');
    assertAnswer(again.content, fresh[1]!, 'asked again on a full disk');
    const health = await fetch(`${gateway.url}/health`);
    assert.equal(health.status, 200);
    await health.text();

    // Room again: the next answers are stored.
    await rm(filler);
    const later = ask('Summarize savannas');
    assert.equal((await askFor(gateway, later)).cache, 'MISS');
    let hit: string | null = null;
    for (let i = 0; i < 20 && hit !== 'HIT'; i++) {
      await sleep(25);
      hit = (await askFor(gateway, later)).cache;
    }
    assert.equal(hit, 'HIT');
  });
});

describe('a damaged vector index', function () {
  this.timeout(30_000);
  let upstream: string;
  let root: string;
  let pristine: string;
  const topics = [
    'photosynthesis',
    'volcanoes',
    'glaciers',
    'tides',
    'rainbows',
    'earthquakes',
    'comets',
    'coral reefs',
    'monsoons',
    'auroras',
    'fossils',
    'deserts',
  ];
  // Questions the fake model keeps far apart: no one answers for another.
  const questions = topics.map((topic) => ask(`Explain ${topic}`));

  before(async () => {
    sim = new SimVllm();
    upstream = await sim.start();
    root = await mkdtemp(join(tmpdir(), 'deja-damaged-index-'));
    pristine = join(root, 'pristine');
    const logger = new CapturingLogger();
    const gateway = await start(pristine, upstream, logger);
    for (const body of questions) assert.equal((await askFor(gateway, body)).cache, 'MISS');
    assert.equal(await indexSettled(gateway, questions.length), questions.length);
    await gateway.close();
    // Compact the log into a snapshot file, as the gateway does once the log grows long.
    const file = join(pristine, DATABASE_FILE);
    const store = await SqliteVectorStore.open(file);
    const index = new VectorIndex(new FakeEmbedder().dimension);
    index.load(await store.loadAll());
    await store.compact(index.export(), index.centre);
    await store.close();
    assert.ok(await snapshotFile(pristine), 'the data directory has a snapshot');
  });
  after(async () => {
    await sim.stop();
    await rm(root, { recursive: true, force: true });
  });

  /** The snapshot the database points at. */
  async function snapshotFile(dataDir: string): Promise<string | undefined> {
    const db = new sqlite3.Database(join(dataDir, DATABASE_FILE));
    try {
      const row = await new Promise<{ value: string } | undefined>((resolve, reject) =>
        db.get("SELECT value FROM semantic_meta WHERE key = 'snapshot'", (error, found) =>
          error ? reject(error) : resolve(found as { value: string } | undefined),
        ),
      );
      return row && join(dataDir, row.value);
    } finally {
      await new Promise<void>((resolve) => db.close(() => resolve()));
    }
  }

  const damages: Array<{ title: string; damage: (dataDir: string) => Promise<void> }> = [
    {
      title: 'a truncated snapshot',
      damage: async (dir) => truncate((await snapshotFile(dir))!, Math.floor((await readFile((await snapshotFile(dir))!)).length * 0.6)),
    },
    {
      title: 'a snapshot with flipped bytes (checksum mismatch)',
      damage: async (dir) => {
        const file = (await snapshotFile(dir))!;
        const data = await readFile(file);
        for (let i = data.length - 200; i < data.length; i += 7) data[i] = data[i]! ^ 0xff;
        await writeFile(file, data);
      },
    },
    {
      title: 'a snapshot with a garbage header',
      damage: async (dir) => {
        const file = (await snapshotFile(dir))!;
        const data = await readFile(file);
        data.fill(0x7b, 12, 40);
        await writeFile(file, data);
      },
    },
    { title: 'a missing snapshot', damage: async (dir) => rm((await snapshotFile(dir))!) },
    { title: 'an empty snapshot (zero bytes)', damage: async (dir) => writeFile((await snapshotFile(dir))!, '') },
    {
      title: 'a damaged log row in the database',
      damage: async (dir) => {
        const db = new sqlite3.Database(join(dir, DATABASE_FILE));
        const run = (sql: string) => new Promise<void>((resolve, reject) => db.run(sql, (error) => (error ? reject(error) : resolve())));
        // One vector written after the snapshot, with codes of the wrong length.
        await run(
          "INSERT INTO semantic_log (ids, partition_keys, partition_of, scales, codes, bits, removed) VALUES ('[\"x\"]', '[\"p\"]', X'00000000', X'0000803F', X'0102', NULL, '[]')",
        );
        await new Promise<void>((resolve) => db.close(() => resolve()));
      },
    },
  ];

  for (const { title, damage } of damages) {
    it(`${title}: detected at start-up, the index rebuilt from the stored entries`, async () => {
      const dataDir = join(root, title.replace(/\W+/g, '-'));
      await mkdir(dataDir, { recursive: true });
      await cp(pristine, dataDir, { recursive: true });
      await damage(dataDir);
      const logger = new CapturingLogger();
      const gateway = await start(dataDir, upstream, logger);
      try {
        assert.equal(await indexSettled(gateway, questions.length), questions.length, 'every stored entry has its vector again');
        const warned = logger.lines.find((line) => line.message.startsWith('the vector index could not be read and is rebuilt'));
        assert.ok(warned, `the damage was reported: ${logger.lines.map((line) => line.message).join(' | ')}`);
        const calls = sim.calls('/v1/chat/completions');
        for (const body of questions) {
          const answer = await askFor(gateway, body);
          assert.equal(answer.cache, 'HIT');
          assertAnswer(answer.content, body, 'an exact hit after the rebuild');
        }
        const paraphrase = await askFor(gateway, ask('Please, can you explain comets?'));
        assert.equal(paraphrase.cache, 'SEMANTIC_HIT');
        assertAnswer(paraphrase.content, questions[6]!, 'a semantic hit after the rebuild');
        assert.equal(sim.calls('/v1/chat/completions'), calls, 'no upstream call: everything answered from the rebuilt index');
      } finally {
        await gateway.close();
      }
      // Rebuilt for good: the next start reads the index without complaint.
      const logger2 = new CapturingLogger();
      const again = await start(dataDir, upstream, logger2);
      try {
        assert.equal(await indexSettled(again, questions.length), questions.length);
        assert.equal(
          logger2.lines.filter((line) => line.level === 'warn').length,
          0,
          logger2.lines.map((line) => line.message).join(' | '),
        );
      } finally {
        await again.close();
      }
    });
  }
});

describe('SIGKILL during a write-heavy load (3 kills; `npm run crash` does 20)', function () {
  this.timeout(60_000);

  it('restarts every time; acknowledged entries survive; the index agrees with the store; no wrong answer', async () => {
    const lines: string[] = [];
    const report = await runCrashTest({
      kills: 3,
      concurrency: 8,
      killAfterMs: [150, 700],
      seed: 20_251_125,
      runner: 'tsx',
      log: (line) => lines.push(line),
    });
    assert.deepEqual(report.failures, [], lines.join('\n'));
    assert.equal(report.rounds.length, 3);
    assert.ok(report.final.same, 'the exact store and the vector index hold the same ids');
    assert.ok(report.acknowledged > 0 && report.rounds.every((round) => round.ackedLost === 0));
    assert.ok(report.rounds.every((round) => round.vectorsWithoutEntry === 0));
  });
});
