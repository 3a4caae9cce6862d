/**
 * `npm run crash [-- --kills 20 --seed 1 --concurrency 12]`: kills the gateway with
 * SIGKILL at random moments of a write-heavy load, restarts it on the same data
 * directory, and checks what survived. `test/integration/crash.test.ts` runs a short
 * version of the same thing.
 *
 * "Acknowledged as stored" means: before the kill, the gateway answered a request for the
 * entry with `x-deja-cache: HIT`, or listed it in its admin API (`GET /deja/v1/entries`).
 * Both happen only once the entry's row is committed to SQLite (the in-memory tier takes an
 * entry only after the write), so such an entry must be a HIT after every restart. An
 * answer that only reached its client (a MISS whose store may still have been pending) may
 * be lost, and must then simply be a MISS. Every HIT and SEMANTIC_HIT body is checked
 * against what the simulated vLLM answers for the prompt of the entry that answered
 * (`x-deja-entry`), and every MISS body against its own prompt's answer, so a wrong or
 * partial answer is caught wherever it comes from.
 */
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import sqlite3 from 'sqlite3';
import { readSnapshot } from '../src/core/stores/vectorSnapshot';
import type { JsonObject } from '../src/core/types';
import { adminToken, buildDist, spawnGateway, tinyModel, type GatewayChild } from '../test/fixtures/gatewayProcess';
import { entryIdOf, percentileOf, post, readAnswer, simContent, TOPICS, type Exchange } from '../test/fixtures/loadClient';
import { seededRandom } from '../test/fixtures/seededRandom';
import { SimVllm } from '../test/fixtures/simVllm';

export interface CrashTestOptions {
  kills: number;
  /** Clients sending requests at the same time. */
  concurrency: number;
  /** The kill lands this long after the load starts, chosen at random in the range. */
  killAfterMs: [number, number];
  seed: number;
  runner: 'dist' | 'tsx';
  log: (line: string) => void;
}

export interface RoundReport {
  round: number;
  /** Spawn to banner: the database opened and the server listens. */
  startMs: number;
  /** Banner to the semantic index loaded, repaired and in line with the exact store (one request started it). */
  repairMs: number;
  killAfterMs: number;
  requests: number;
  outcomes: Record<string, number>;
  /** Acknowledged entries checked after the restart, and how many were missing. */
  ackedChecked: number;
  ackedLost: number;
  /** Answered-but-unacknowledged entries checked after the restart, and how many were (allowed to be) gone. */
  pendingChecked: number;
  pendingGone: number;
  /** On disk right after the kill. */
  entriesOnDisk: number;
  vectorsOnDisk: number;
  /** Vectors on disk whose entry is not: must be 0 (a vector is written only after its entry commits). */
  vectorsWithoutEntry: number;
  /** The gateway's own repair messages after this round's start. */
  repairLog: string[];
}

export interface CrashTestReport {
  rounds: RoundReport[];
  failures: string[];
  /** After the last restart and a clean stop: the two stores hold the same ids. */
  final: { entries: number; vectors: number; same: boolean; catalog: number };
  acknowledged: number;
  /** Of those, first acknowledged by the admin API's list (the rest by a HIT). */
  acknowledgedByList: number;
  dataDir: string;
}

const AUTH = 'Bearer sk-crash-test';
const MODEL = 'sim-llama-3-8b';

interface Known {
  text: string;
  body: JsonObject;
  content: string;
}

/** Read-only look at a data directory's SQLite file and snapshot: entry ids, live vector ids, integrity. */
export async function diskState(
  dataDir: string,
): Promise<{ integrity: string; entries: Set<string>; vectors: Set<string>; catalog: number; snapshotError?: string }> {
  const file = join(dataDir, 'cache.sqlite');
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const opened = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (error) => (error ? reject(error) : resolve(opened)));
  });
  const all = <T>(sql: string): Promise<T[]> =>
    new Promise((resolve, reject) => db.all(sql, [], (error, rows) => (error ? reject(error) : resolve(rows as T[]))));
  const tables = new Set((await all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")).map((row) => row.name));
  try {
    const [check] = await all<{ quick_check: string }>('PRAGMA quick_check');
    const entries = tables.has('exact_entries')
      ? new Set((await all<{ key: string }>("SELECT key FROM exact_entries WHERE key LIKE 'deja:%'")).map((row) => row.key.slice(5)))
      : new Set<string>();
    const vectors = new Set<string>();
    let snapshotError: string | undefined;
    if (tables.has('semantic_meta')) {
      const [meta] = await all<{ value: string }>("SELECT value FROM semantic_meta WHERE key = 'snapshot'");
      if (meta) {
        try {
          for (const id of (await readSnapshot(join(dataDir, meta.value))).batch.ids) vectors.add(id);
        } catch (error) {
          snapshotError = (error as Error).message;
        }
      }
    }
    if (tables.has('semantic_log')) {
      for (const row of await all<{ ids: string; removed: string }>('SELECT ids, removed FROM semantic_log ORDER BY seq')) {
        for (const id of JSON.parse(row.removed) as string[]) vectors.delete(id);
        for (const id of JSON.parse(row.ids) as string[]) vectors.add(id);
      }
    }
    const catalog = tables.has('entry_catalog') ? ((await all<{ n: number }>('SELECT COUNT(*) AS n FROM entry_catalog'))[0]?.n ?? 0) : 0;
    return { integrity: check?.quick_check ?? 'no answer', entries, vectors, catalog, snapshotError };
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

/** How many entries the database holds, read beside the running gateway. */
async function storedCount(dataDir: string): Promise<number> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const opened = new sqlite3.Database(join(dataDir, 'cache.sqlite'), sqlite3.OPEN_READONLY, (error) =>
      error ? reject(error) : resolve(opened),
    );
  });
  try {
    return await new Promise<number>((resolve, reject) =>
      db.get("SELECT COUNT(*) AS n FROM exact_entries WHERE key LIKE 'deja:%'", [], (error, row: { n: number } | undefined) =>
        error ? reject(error) : resolve(row?.n ?? 0),
      ),
    );
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

interface Health {
  semantic: { state: string; entries?: number; backlog?: number; reason?: string };
}

export async function runCrashTest(options: CrashTestOptions): Promise<CrashTestReport> {
  const log = options.log;
  const random = seededRandom(options.seed);
  const root = await mkdtemp(join(tmpdir(), 'deja-crash-'));
  const dataDir = join(root, 'data');
  const model = await tinyModel(join(root, 'tiny-bert'));
  if (options.runner === 'dist') buildDist();
  const sim = new SimVllm({ ttftMs: 5, tokenLatencyMs: 1 });
  const upstream = await sim.start();
  const failures: string[] = [];
  const fail = (message: string) => {
    if (failures.length < 200) failures.push(message);
    log(`FAIL ${message}`);
  };
  const known = new Map<string, Known>();
  const acked = new Set<string>();
  const answered = new Set<string>();
  const rounds: RoundReport[] = [];
  let counter = 0;
  /** Entries first acknowledged by the admin API's list rather than by a HIT. */
  let listedAcks = 0;
  let current: GatewayChild | undefined;

  const remember = (text: string): { id: string; item: Known } => {
    const body: JsonObject = { model: MODEL, messages: [{ role: 'user', content: text }] };
    const id = entryIdOf(upstream, AUTH, body);
    let item = known.get(id);
    if (!item) {
      item = { text, body, content: simContent(body) };
      known.set(id, item);
    }
    return { id, item };
  };

  const flags = [
    '--log-level',
    'info',
    '--semantic',
    'on',
    '--embedding-model',
    model,
    '--embedding-dtype',
    'fp32',
    '--embedding-download',
    'off',
  ];
  // A random-weight model finds every pair of texts similar (cosine 0.96-0.998): only texts it
  // cannot tell apart (case and spacing variants) may answer for each other.
  flags.push('--semantic-threshold', '0.9999', '--vllm-metrics-interval', '0', '--revalidate-share', '0');

  /** Asks, checks the answer, and records what it proves. Returns the outcome, or undefined when the connection failed. */
  const ask = async (
    gateway: GatewayChild,
    agent: http.Agent,
    text: string,
    stream: boolean,
    state: { killed: boolean; outcomes: Record<string, number>; requests: number },
  ): Promise<string | undefined> => {
    const { id, item } = remember(text);
    let exchange: Exchange;
    try {
      exchange = await post(
        agent,
        `${gateway.baseUrl}/chat/completions`,
        JSON.stringify({ ...item.body, ...(stream ? { stream: true } : {}) }),
        { authorization: AUTH },
        30_000,
      );
    } catch (error) {
      if (!state.killed) fail(`"${text}": the connection failed before the kill: ${(error as Error).message}`);
      return undefined;
    }
    state.requests++;
    const outcome = String(exchange.headers['x-deja-cache'] ?? 'none');
    state.outcomes[outcome] = (state.outcomes[outcome] ?? 0) + 1;
    if (exchange.status !== 200) {
      fail(`"${text}": status ${exchange.status} (${outcome}): ${exchange.body.slice(0, 200)}`);
      return outcome;
    }
    const answer = readAnswer(exchange, stream);
    // Which prompt's answer this must be: the request's own, or the stored neighbour's.
    let expected = item;
    if (outcome === 'SEMANTIC_HIT') {
      const entry = String(exchange.headers['x-deja-entry'] ?? '');
      const neighbour = known.get(entry);
      if (!neighbour) {
        fail(`"${text}": SEMANTIC_HIT from an entry no client ever asked for (${entry})`);
        return outcome;
      }
      expected = neighbour;
    } else if (outcome === 'HIT' && exchange.headers['x-deja-entry'] !== id) {
      fail(`"${text}": HIT from entry ${String(exchange.headers['x-deja-entry'])}, expected ${id}`);
    }
    if (!answer.complete || answer.content !== expected.content) {
      fail(
        `"${text}": ${outcome} ${answer.complete ? 'wrong' : 'partial'} answer: ${JSON.stringify(answer.content?.slice(0, 80))} for "${expected.text}"`,
      );
      return outcome;
    }
    if (outcome === 'HIT') acked.add(id);
    if (outcome === 'MISS') answered.add(id);
    return outcome;
  };

  // A gateway that stops answering is a failure to report, not a run that hangs.
  const health = async (gateway: GatewayChild): Promise<Health> =>
    (await (await fetch(`${gateway.url}/health`, { signal: AbortSignal.timeout(10_000) })).json()) as Health;

  try {
    for (let round = 1; round <= options.kills + 1; round++) {
      const last = round === options.kills + 1;
      let gateway: GatewayChild;
      try {
        gateway = await spawnGateway({ upstream, dataDir, args: flags, runner: options.runner, timeoutMs: 60_000 });
        current = gateway;
      } catch (error) {
        fail(`round ${round}: the gateway did not start on the data directory: ${(error as Error).message}`);
        break;
      }
      const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency * 2 });
      const state = { killed: false, outcomes: {} as Record<string, number>, requests: 0 };
      const failuresBefore = failures.length;
      const repairBegan = performance.now();

      // 1. The semantic index, repaired at start-up, agrees with the exact store. The first
      //    cacheable request starts loading the model: a fresh question, then the wait.
      await ask(gateway, agent, `Warm-up question ${round} about ${TOPICS[round % TOPICS.length]}`, false, state);
      let converged = false;
      let report: Health | undefined;
      let onDisk = 0;
      for (let i = 0; i < 600 && !converged; i++) {
        report = await health(gateway);
        onDisk = await storedCount(dataDir);
        converged = report.semantic.state === 'ready' && report.semantic.backlog === 0 && report.semantic.entries === onDisk;
        if (!converged) await sleep(50);
      }
      if (!converged)
        fail(
          `round ${round}: the semantic index did not come in line with the exact store: ${JSON.stringify(report?.semantic)} vs ${onDisk} entries`,
        );
      const repairMs = performance.now() - repairBegan;
      // 2. What was acknowledged before the kill must be there, with the right answer.
      let ackedLost = 0;
      const ackedNow = [...acked];
      for (let i = 0; i < ackedNow.length; i += options.concurrency) {
        await Promise.all(
          ackedNow.slice(i, i + options.concurrency).map(async (id) => {
            const outcome = await ask(gateway, agent, known.get(id)!.text, false, state);
            if (outcome !== 'HIT') {
              ackedLost++;
              fail(`round ${round}: acknowledged entry "${known.get(id)!.text}" came back as ${outcome}`);
            }
          }),
        );
      }
      // 3. Answered but never acknowledged: a HIT (then correct) or a MISS, nothing else.
      const pending = [...answered].filter((id) => !acked.has(id));
      const sample = pending.sort(() => random() - 0.5).slice(0, 200);
      let pendingGone = 0;
      await Promise.all(
        Array.from({ length: options.concurrency }, async (_, worker) => {
          for (let i = worker; i < sample.length; i += options.concurrency) {
            const outcome = await ask(gateway, agent, known.get(sample[i]!)!.text, random() < 0.3, state);
            if (outcome === 'MISS') pendingGone++;
          }
        }),
      );
      const repairLog = gateway
        .output()
        .split('\n')
        .filter((line) => /repair|removed vectors|could not be read|rebuilt|damaged|moved aside/i.test(line))
        .map((line) => line.replace(/^\S+ +/, ''));

      if (last) {
        // A clean stop, then both stores compared id by id.
        const catalogTotal = await catalogCount(gateway, dataDir);
        const exit = await gateway.stop();
        agent.destroy();
        if (exit.code !== 0) fail(`the final clean stop exited with ${exit.code ?? exit.signal}`);
        const disk = await diskState(dataDir);
        const same = disk.entries.size === disk.vectors.size && [...disk.entries].every((id) => disk.vectors.has(id));
        if (!same) fail(`after the final clean stop: ${disk.entries.size} entries and ${disk.vectors.size} vectors, not the same ids`);
        if (catalogTotal !== disk.entries.size) fail(`the entry list shows ${catalogTotal} entries, the store holds ${disk.entries.size}`);
        if (disk.integrity !== 'ok') fail(`quick_check after the final stop: ${disk.integrity}`);
        log(
          `final: ${disk.entries.size} entries, ${disk.vectors.size} vectors, same ids: ${same}; entry list ${catalogTotal}; ${acked.size} acknowledged entries checked every round`,
        );
        return {
          rounds,
          failures,
          final: { entries: disk.entries.size, vectors: disk.vectors.size, same, catalog: catalogTotal },
          acknowledged: acked.size,
          acknowledgedByList: listedAcks,
          dataDir,
        };
      }

      // 4. A write-heavy load, and a SIGKILL at a random moment of it.
      const killAfterMs = Math.round(options.killAfterMs[0] + random() * (options.killAfterMs[1] - options.killAfterMs[0]));
      const workers = Array.from({ length: options.concurrency }, async (_, worker) => {
        while (!state.killed) {
          const pick = random();
          const fresh = () =>
            `Round ${round} client ${worker} item ${counter++}: tell the story of the ${TOPICS[Math.floor(random() * TOPICS.length)]} number ${Math.floor(random() * 1e6)}`;
          if (pick < 0.6) {
            const text = fresh();
            const outcome = await ask(gateway, agent, text, random() < 0.4, state);
            // At once again: lands while the store of the first answer may still be pending.
            if (outcome === 'MISS' && random() < 0.5) await ask(gateway, agent, text, random() < 0.3, state);
          } else if (pick < 0.7) {
            const text = fresh();
            await Promise.all([ask(gateway, agent, text, false, state), ask(gateway, agent, text, true, state)]);
          } else {
            const ids = [...answered];
            const id = ids[Math.floor(random() * ids.length)];
            const text = id ? known.get(id)!.text : fresh();
            // A variant the model cannot tell apart: a semantic hit once the original is indexed.
            const variant = pick < 0.85 ? text : text.toUpperCase();
            await ask(gateway, agent, variant, random() < 0.3, state);
          }
        }
      });
      // Meanwhile, what the admin API lists is acknowledged too (the newest entries, a few times a second).
      const token = adminToken(dataDir);
      const lister = (async () => {
        while (!state.killed) {
          try {
            const res = await fetch(`${gateway.url}/deja/v1/entries?limit=100&sort=created&order=desc`, {
              headers: { authorization: `Bearer ${token}` },
              signal: AbortSignal.timeout(10_000),
            });
            const page = (await res.json()) as { items: Array<{ id: string }> };
            for (const { id } of page.items) {
              if (!known.has(id)) fail(`round ${round}: the admin API lists ${id}, which no client ever asked for`);
              else if (!acked.has(id)) {
                acked.add(id);
                listedAcks++;
              }
            }
          } catch {
            // the kill landed during the call: nothing was acknowledged by it
          }
          await sleep(150);
        }
      })();
      await sleep(killAfterMs);
      state.killed = true;
      await gateway.kill();
      await Promise.all([...workers, lister]);
      agent.destroy();

      if (failures.length > failuresBefore) {
        const warnings = gateway
          .output()
          .split('\n')
          .filter((line) => / (warn|error) /.test(line));
        log(`round ${round}: the gateway's warnings and errors (${warnings.length}):\n  ${warnings.slice(0, 15).join('\n  ')}`);
      }
      const disk = await diskState(dataDir);
      const vectorsWithoutEntry = [...disk.vectors].filter((id) => !disk.entries.has(id)).length;
      if (disk.integrity !== 'ok') fail(`round ${round}: quick_check after the kill: ${disk.integrity}`);
      if (disk.snapshotError)
        log(`round ${round}: snapshot unreadable after the kill (${disk.snapshotError}); the next start must rebuild it`);
      if (vectorsWithoutEntry > 0) fail(`round ${round}: ${vectorsWithoutEntry} vectors on disk whose entry is not`);
      const roundReport: RoundReport = {
        round,
        startMs: Math.round(gateway.startMs),
        repairMs: Math.round(repairMs),
        killAfterMs,
        requests: state.requests,
        outcomes: state.outcomes,
        ackedChecked: ackedNow.length,
        ackedLost,
        pendingChecked: sample.length,
        pendingGone,
        entriesOnDisk: disk.entries.size,
        vectorsOnDisk: disk.vectors.size,
        vectorsWithoutEntry,
        repairLog,
      };
      rounds.push(roundReport);
      log(
        `round ${round}: started in ${roundReport.startMs} ms, index in line after ${roundReport.repairMs} ms; ` +
          `${ackedNow.length} acknowledged checked (${ackedLost} lost), ${sample.length} unacknowledged checked (${pendingGone} gone, allowed); ` +
          `killed after ${killAfterMs} ms of load (${state.requests} requests: ${Object.entries(state.outcomes)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}); ` +
          `on disk: ${disk.entries.size} entries, ${disk.vectors.size} vectors`,
      );
    }
    throw new Error('unreachable: the last round returns');
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('unreachable'))) {
      fail(
        `crash test aborted: ${(error as Error).stack ?? String(error)}\n--- the gateway's last output:\n${current?.output().slice(-4000) ?? ''}`,
      );
    }
    await current?.kill();
    return {
      rounds,
      failures,
      final: { entries: 0, vectors: 0, same: false, catalog: 0 },
      acknowledged: acked.size,
      acknowledgedByList: listedAcks,
      dataDir,
    };
  } finally {
    await sim.stop();
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * The entry list's total through the admin API, once its start-up repair is done and the
 * answers of the last misses are stored (a miss is stored after its client has the answer):
 * polls until the list and the store agree, reading both again each time.
 */
async function catalogCount(gateway: GatewayChild, dataDir: string): Promise<number> {
  const token = adminToken(dataDir);
  let total = -1;
  let expected = -2;
  for (let i = 0; i < 100 && total !== expected; i++) {
    if (i > 0) await sleep(50);
    expected = await storedCount(dataDir);
    const page = (await (
      await fetch(`${gateway.url}/deja/v1/entries?limit=1`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(10_000),
      })
    ).json()) as { total: number };
    total = page.total;
  }
  return total;
}

/** Markdown summary of a run, for RELIABILITY.md. */
export function summarize(report: CrashTestReport): string {
  const rounds = report.rounds;
  const sum = (pick: (round: RoundReport) => number) => rounds.reduce((total, round) => total + pick(round), 0);
  const outcomes: Record<string, number> = {};
  for (const round of rounds) for (const [name, count] of Object.entries(round.outcomes)) outcomes[name] = (outcomes[name] ?? 0) + count;
  const starts = rounds.map((round) => round.startMs);
  const repairs = rounds.map((round) => round.repairMs);
  return [
    '| measure | result |',
    '|---|---|',
    `| kills | ${rounds.length} (SIGKILL after ${Math.min(...rounds.map((r) => r.killAfterMs))}–${Math.max(...rounds.map((r) => r.killAfterMs))} ms of load) |`,
    `| requests | ${sum((r) => r.requests)} (${Object.entries(outcomes)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}) |`,
    `| restarts that opened the database | ${rounds.length + (report.final.entries || report.final.same ? 1 : 0)} of ${rounds.length + 1} |`,
    `| start (spawn to listening), p50 / max | ${percentileOf(starts, 50)} ms / ${Math.max(...starts)} ms |`,
    `| index in line with the store after start, p50 / max | ${percentileOf(repairs, 50)} ms / ${Math.max(...repairs)} ms |`,
    `| acknowledged entries re-checked after restarts | ${sum((r) => r.ackedChecked)} checks, ${sum((r) => r.ackedLost)} lost (${report.acknowledged} distinct entries, ${report.acknowledgedByList} of them first seen on the admin list rather than as a HIT) |`,
    `| unacknowledged answers re-checked | ${sum((r) => r.pendingChecked)} checks, ${sum((r) => r.pendingGone)} came back as a MISS (allowed) |`,
    `| vectors on disk without their entry, after a kill | ${sum((r) => r.vectorsWithoutEntry)} |`,
    `| after the last restart and a clean stop | ${report.final.entries} entries, ${report.final.vectors} vectors, same ids: ${report.final.same ? 'yes' : 'no'}; entry list ${report.final.catalog} |`,
    `| wrong, partial or failed answers | ${report.failures.length} |`,
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kills: { type: 'string', default: '20' },
      concurrency: { type: 'string', default: '12' },
      seed: { type: 'string', default: String(Date.now() % 100_000) },
      'min-ms': { type: 'string', default: '150' },
      'max-ms': { type: 'string', default: '3000' },
      runner: { type: 'string', default: 'dist' },
    },
  });
  const options: CrashTestOptions = {
    kills: Number(values.kills),
    concurrency: Number(values.concurrency),
    seed: Number(values.seed),
    killAfterMs: [Number(values['min-ms']), Number(values['max-ms'])],
    runner: values.runner === 'tsx' ? 'tsx' : 'dist',
    log: (line) => process.stdout.write(`${line}\n`),
  };
  process.stdout.write(
    `Deja crash test, ${new Date().toISOString().slice(0, 10)}, seed ${options.seed}, ${options.kills} kills, ${options.concurrency} clients\n`,
  );
  const report = await runCrashTest(options);
  process.stdout.write(`\n${summarize(report)}\n`);
  if (report.failures.length > 0) {
    process.stdout.write(`\n${report.failures.length} failures (first ones):\n${report.failures.slice(0, 20).join('\n')}\n`);
    process.exit(1);
  }
  process.stdout.write('\nno failures\n');
}

if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
