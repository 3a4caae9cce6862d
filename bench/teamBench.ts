/**
 * The team tier at this machine's scale: four gateways (child processes) sharing one
 * real Redis, the semantic level on with a MiniLM-shaped model (384 dimensions).
 * - a team exact hit (first read on gateway B of an answer gateway A stored)
 *   against a local hit, side by side;
 * - how soon an entry stored on A is in the other gateways' indexes;
 * - how long a new gateway takes to catch up 100k stream entries that carry embeddings.
 */
import { createClient } from '@redis/client';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { semanticSpace } from '../src/core/openCache';
import { quantize } from '../src/core/semantic/vectorIndex';
import { encodeMessage } from '../src/core/team/teamStream';
import { MINILM_L12_MULTILINGUAL, writeBertModel } from '../test/fixtures/bertModel';
import { RedisServer } from '../test/fixtures/redisServer';
import { percentile, signed, startServe, startSim, timedPost, type ChildServer } from './lib';

export interface TeamRow {
  measure: string;
  value: string;
  target: string;
  met: string;
}

const TEAM = 'bench';

function startTeamGateway(upstream: string, dataDir: string, redisUrl: string, model: string): Promise<ChildServer> {
  return startServe(upstream, dataDir, [
    '--semantic',
    'on',
    '--embedding-model',
    model,
    '--embedding-dtype',
    'q8',
    '--shared-store',
    redisUrl,
    '--team',
    TEAM,
    '--revalidate-share',
    '0',
    // The model has random weights: every sentence looks like every other to it. A near-1 threshold keeps
    // the semantic level fully at work (embedding, search, indexing) without it answering unrelated questions.
    '--semantic-threshold',
    '0.99999',
  ]);
}

interface Health {
  semantic: { state: string; entries?: number };
  shared: { state: string; applied: number; lag: { p50: number; p95: number; max: number; count: number } | null } | null;
}

async function health(gateway: ChildServer): Promise<Health> {
  return (await (await fetch(`${gateway.url.replace(/\/v1$/, '')}/health`)).json()) as Health;
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Questions of made-up words: the model has random weights, under which questions built
 * on one template all look alike (they would be semantic hits of each other, never stored).
 */
function question(seed: number): string {
  const syllables = [
    'ka',
    'lo',
    'mi',
    'ren',
    'tus',
    'vo',
    'bra',
    'quin',
    'zel',
    'dor',
    'fi',
    'gan',
    'hup',
    'jex',
    'nol',
    'pry',
    'sto',
    'wim',
    'yad',
    'xer',
  ];
  let state = (seed * 2654435761 + 12345) >>> 0;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) % syllables.length;
  const words = Array.from({ length: 9 }, () => syllables[next()]! + syllables[next()]! + (next() % 2 ? syllables[next()]! : ''));
  return `${words.join(' ')}?`;
}

/** Resident memory of a child process, in bytes (Linux). */
async function rssOf(server: ChildServer): Promise<number> {
  const status = await readFile(`/proc/${server.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024;
}

const body = (content: string) => JSON.stringify({ model: 'sim-llama-3-8b', messages: [{ role: 'user', content }], temperature: 0 });
const post = (gateway: ChildServer, content: string) =>
  timedPost(`${gateway.url}/chat/completions`, body(content), undefined, { authorization: 'Bearer sk-bench' });

/** Median of paired differences, and the two medians. */
function paired(a: number[], b: number[]) {
  const diffs = a.map((value, i) => b[i]! - value);
  return { a: percentile(a, 50), b: percentile(b, 50), diff: percentile(diffs, 50) };
}

export async function teamBench(options: { quick: boolean }): Promise<TeamRow[]> {
  const rows: TeamRow[] = [];
  const scratch = await mkdtemp(join(tmpdir(), 'deja-team-bench-'));
  const redis = new RedisServer();
  const servers: ChildServer[] = [];
  try {
    await redis.start();
    const model = join(scratch, 'minilm');
    await writeBertModel(model, MINILM_L12_MULTILINGUAL, { quantized: true });
    const sim = await startSim(0, 0);
    servers.push(sim);
    const gateways: ChildServer[] = [];
    for (let i = 0; i < 4; i++) gateways.push(await startTeamGateway(sim.url, join(scratch, `g${i}`), redis.url, model));
    servers.push(...gateways);
    const [a, b] = gateways as [ChildServer, ChildServer, ChildServer, ChildServer];
    // Load every model before measuring: the first request starts it.
    for (const [i, gateway] of gateways.entries()) await post(gateway, `warm-up question number ${i}`);
    for (const gateway of gateways) await until('the model', async () => (await health(gateway)).semantic.state === 'ready', 120_000);

    // 1. Team exact hit vs local hit, side by side.
    const n = options.quick ? 100 : 400;
    const questions = Array.from({ length: n }, (_, i) => question(i));
    const appliedBefore = (await health(b)).shared!.applied;
    let stored = 0;
    for (const text of questions) if ((await post(a, text)).headers['x-deja-cache'] === 'MISS') stored++;
    if (stored !== n) throw new Error(`${n - stored} of the made-up questions were not misses: they would not be stored`);
    await until('B to hear of every entry', async () => (await health(b)).shared!.applied >= appliedBefore + n, 60_000);
    const local: number[] = [];
    const team: number[] = [];
    for (const text of questions) {
      const here = await post(a, text);
      const there = await post(b, text);
      if (here.headers['x-deja-cache'] !== 'HIT') throw new Error(`expected a local hit, got ${String(here.headers['x-deja-cache'])}`);
      if (there.headers['x-deja-cache'] !== 'HIT' || there.headers['x-deja-tier'] !== 'team')
        throw new Error(`expected a team hit, got ${String(there.headers['x-deja-cache'])} ${String(there.headers['x-deja-tier'])}`);
      local.push(here.totalMs);
      team.push(there.totalMs);
    }
    const hits = paired(local, team);
    rows.push({
      measure: `exact hit, p50 over ${n} pairs: local (A) / first read from the team tier (B) / paired difference`,
      value: `${hits.a.toFixed(2)} / ${hits.b.toFixed(2)} / ${signed(hits.diff, 2)}`,
      target: 'within 2 ms p50 of a local hit',
      met: hits.diff <= 2 ? 'yes' : 'no',
    });

    // 2. A new entry in the other gateways' indexes.
    const m = options.quick ? 100 : 300;
    const before = await Promise.all(gateways.slice(1).map(async (gateway) => (await health(gateway)).shared!.applied));
    for (let i = 0; i < m; i++) {
      await post(a, question(100_000 + i));
      await new Promise((r) => setTimeout(r, 10));
    }
    const lags: string[] = [];
    let worst = 0;
    for (const [i, gateway] of gateways.slice(1).entries()) {
      await until(
        'the other gateways to apply the new entries',
        async () => (await health(gateway)).shared!.applied >= before[i]! + m,
        60_000,
      );
      const lag = (await health(gateway)).shared!.lag!;
      lags.push(`${lag.p50.toFixed(0)}/${lag.p95.toFixed(0)}`);
      worst = Math.max(worst, lag.p95);
    }
    rows.push({
      measure: `new entry from A indexed in B, C, D (Redis took it → in the index), p50/p95 ms over the last ${m} entries`,
      value: lags.join(', '),
      target: 'p95 within 1 s',
      met: worst <= 1000 ? 'yes' : 'no',
    });

    // 3. Catch-up: 100k stream entries with embeddings, read by a gateway new to the team.
    const total = options.quick ? 20_000 : 100_000;
    const dimension = MINILM_L12_MULTILINGUAL.hiddenSize;
    // The late gateway's own vector space (a fingerprint of the model's files), so it indexes the vectors as they come.
    const space = semanticSpace({ embeddingModel: model, embeddingDtype: 'q8' });
    const writer = createClient({ url: redis.url });
    await writer.connect();
    const expiresAt = Date.now() + 3_600_000;
    const vector = new Float32Array(dimension);
    for (let start = 0; start < total; start += 1000) {
      const batch = writer.multi();
      for (let i = start; i < Math.min(total, start + 1000); i++) {
        let norm = 0;
        for (let d = 0; d < dimension; d++) {
          vector[d] = Math.sin(i * 0.37 + d * 1.3) + Math.cos(i * 0.011 * d);
          norm += vector[d]! * vector[d]!;
        }
        for (let d = 0; d < dimension; d++) vector[d]! /= Math.sqrt(norm);
        const { codes, scale } = quantize(vector);
        const id = (i.toString(16).padStart(8, '0') + 'c0ffee'.repeat(4)).slice(0, 32);
        const fields = encodeMessage(
          { op: 'put', id, expiresAt, partition: `bench-partition-${i % 100}`, space, vector: { codes, scale } },
          'bench-writer',
        );
        batch.addCommand(['XADD', `deja:${TEAM}:stream`, '*', ...fields]);
      }
      await batch.exec();
    }
    await writer.quit();
    const began = performance.now();
    const late = await startTeamGateway(sim.url, join(scratch, 'late'), redis.url, model);
    servers.push(late);
    await until('the late gateway to index the stream', async () => ((await health(late)).semantic.entries ?? 0) >= total, 300_000);
    const seconds = (performance.now() - began) / 1000;
    // Against gateway D, which holds a few hundred entries and the same model: the difference is the team's entries.
    const [withTeam, without] = [await rssOf(late), await rssOf(gateways[3]!)];
    rows.push({
      measure: `a new gateway catches up ${total.toLocaleString('en')} stream entries with ${dimension}-dim embeddings (start → all indexed)`,
      value: `${seconds.toFixed(1)} s`,
      target: 'under 60 s for 100k',
      met: seconds < 60 * (total / 100_000) ? 'yes' : 'no',
    });
    rows.push({
      measure: `memory of the gateway that caught up, against one without the ${total.toLocaleString('en')} entries (resident, same model)`,
      value: `${(withTeam / 2 ** 20).toFixed(0)} MB vs ${(without / 2 ** 20).toFixed(0)} MB: about ${Math.round((withTeam - without) / total)} bytes per team entry`,
      target: '(what a laptop pays for the team index)',
      met: '—',
    });
  } finally {
    for (const server of servers.reverse()) await server.stop().catch(() => {});
    await redis.stop();
    await rm(scratch, { recursive: true, force: true });
  }
  return rows;
}

export function printTeamRows(title: string, rows: TeamRow[]): void {
  process.stdout.write(`\n### ${title}\n\n| measure | value | target | met |\n|---|---|---|---|\n`);
  for (const row of rows) process.stdout.write(`| ${row.measure} | ${row.value} | ${row.target} | ${row.met} |\n`);
}
