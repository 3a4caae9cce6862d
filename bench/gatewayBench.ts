/**
 * The gateway's own cost, measured side by side in one run on this machine:
 * exact hits against a bare Node server (the loopback floor), hit throughput with
 * 50 connections, misses and streamed first tokens against calling the simulated
 * vLLM directly. Every server runs in its own process; this process is the client.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { allCases } from '../test/fixtures/devtools/index';
import type { DevtoolRequest } from '../test/fixtures/devtools/types';
import { SESSION_A } from '../test/fixtures/devtools/workspace';
import { fmt, percentile, signed, startBareProxy, startDeja, startFloor, startSim, timedPost, type ChildServer } from './lib';

/** A request of the dev-tool corpus, as its tool builds it in the first session. */
function devtoolRequest(id: string): DevtoolRequest {
  const found = allCases().find(({ c }) => c.id === id);
  if (!found) throw new Error(`no corpus case ${id}`);
  return found.module.build(found.c, SESSION_A);
}

const MODEL = 'sim-llama-3-8b';
const chat = (content: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }], ...extra });

interface Row {
  measure: string;
  deja: string;
  reference: string;
  difference: string;
  target: string;
}

/** Runs the measures in turn, rotating which goes first, so none always runs on a warmer machine. */
async function interleave(rounds: number, measures: Array<() => Promise<number>>): Promise<number[][]> {
  const results = measures.map(() => [] as number[]);
  for (let i = 0; i < rounds; i++) {
    for (let j = 0; j < measures.length; j++) {
      const k = (i + j) % measures.length;
      results[k]!.push(await measures[k]!());
    }
  }
  return results;
}

async function alternate(rounds: number, a: () => Promise<number>, b: () => Promise<number>): Promise<[number[], number[]]> {
  const [as, bs] = await interleave(rounds, [a, b]);
  return [as!, bs!];
}

function throughput(url: string, body: string, seconds: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      { url, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections: 50, duration: seconds },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

export async function gatewayBench(options: { quick: boolean }): Promise<Row[]> {
  const rounds = options.quick ? 1000 : 3000;
  const seconds = options.quick ? 3 : 10;
  const dataDir = await mkdtemp(join(tmpdir(), 'deja-bench-'));
  const servers: ChildServer[] = [];
  try {
    const sim = await startSim(0, 0);
    servers.push(sim);
    const deja = await startDeja(sim.url, dataDir);
    servers.push(deja);
    const rows: Row[] = [];

    // 1. A miss against calling the zero-latency upstream directly, and through a bare
    //    Node proxy (no cache, no checks): the floor any Node gateway pays on this machine.
    let n = 0;
    const bareProxy = await startBareProxy(sim.url);
    servers.push(bareProxy);
    const missUrl = `${deja.url}/chat/completions`;
    const directUrl = `${sim.url}/chat/completions`;
    const proxyUrl = `${bareProxy.url}/chat/completions`;
    const miss = async () => {
      const timing = await timedPost(missUrl, chat(`miss ${n++}`));
      if (timing.headers['x-deja-cache'] !== 'MISS') throw new Error('expected a miss');
      return timing.totalMs;
    };
    const directCall = async () => (await timedPost(directUrl, chat(`direct ${n++}`))).totalMs;
    const proxied = async () => (await timedPost(proxyUrl, chat(`proxied ${n++}`))).totalMs;
    await interleave(200, [miss, directCall, proxied]);
    const missRounds = Math.min(rounds, 1500);
    const [misses, directs, proxies] = (await interleave(missRounds, [miss, directCall, proxied])) as [number[], number[], number[]];
    for (const p of [50, 99]) {
      rows.push({
        measure: `miss, p${p} (${missRounds} new prompts each)`,
        deja: fmt(percentile(misses, p)),
        reference: `${fmt(percentile(directs, p))} direct; ${fmt(percentile(proxies, p))} through a bare Node proxy (${signed(percentile(proxies, p) - percentile(directs, p))})`,
        difference: signed(percentile(misses, p) - percentile(directs, p)),
        target: p === 50 ? '≤ +1 ms' : '(not set)',
      });
    }

    // 1b. The same for a dev tool's agent request as Roo Code sends it (about 30 KB: its system
    //     prompt, the task, the environment details with the clock): the anatomy, the policy over
    //     the question and the masked key are in its path, where a plain prompt has none.
    const agentRequest = devtoolRequest('roo-002');
    const agentBody = (tag: string) => {
      const body = structuredClone(agentRequest.body) as { messages: Array<{ content: unknown }> };
      const first = (body.messages[1]!.content as Array<{ text: string }>)[0]!;
      first.text = first.text.replace('</user_message>', ` (${tag})\n</user_message>`);
      return JSON.stringify({ ...body, model: MODEL });
    };
    const agentMiss = async () => {
      const timing = await timedPost(missUrl, agentBody(`miss ${n++}`));
      if (timing.headers['x-deja-cache'] !== 'MISS')
        throw new Error(`expected an agent miss, got ${String(timing.headers['x-deja-cache'])}`);
      return timing.totalMs;
    };
    const agentDirect = async () => (await timedPost(directUrl, agentBody(`direct ${n++}`))).totalMs;
    await interleave(100, [agentMiss, agentDirect]);
    const [agentMisses, agentDirects] = (await interleave(missRounds, [agentMiss, agentDirect])) as [number[], number[]];
    rows.push({
      measure: `miss with a ${(agentBody('x').length / 1024).toFixed(0)} KB Roo Code request, p50 (${missRounds} each)`,
      deja: fmt(percentile(agentMisses, 50)),
      reference: `${fmt(percentile(agentDirects, 50))} direct`,
      difference: signed(percentile(agentMisses, 50) - percentile(agentDirects, 50)),
      target: `(plain prompt: ${signed(percentile(misses, 50) - percentile(directs, 50))})`,
    });

    // 2. Exact hit against the loopback floor, answering the same bytes.
    const hitBody = chat('What does an exact cache hit cost?');
    const stored = await timedPost(`${deja.url}/chat/completions`, hitBody);
    const floor = await startFloor(stored.body);
    servers.push(floor);
    const check = await timedPost(`${deja.url}/chat/completions`, hitBody);
    if (check.headers['x-deja-cache'] !== 'HIT') throw new Error('the hit request did not hit');
    const hitUrl = `${deja.url}/chat/completions`;
    const floorUrl = `${floor.url}/chat/completions`;
    await alternate(
      300,
      async () => (await timedPost(hitUrl, hitBody)).totalMs,
      async () => (await timedPost(floorUrl, hitBody)).totalMs,
    );
    const [hits, floors] = await alternate(
      rounds,
      async () => (await timedPost(hitUrl, hitBody)).totalMs,
      async () => (await timedPost(floorUrl, hitBody)).totalMs,
    );
    for (const p of [50, 99]) {
      rows.push({
        measure: `exact hit, p${p} (${rounds} sequential requests)`,
        deja: fmt(percentile(hits, p)),
        reference: `${fmt(percentile(floors, p))} (bare Node http)`,
        difference: signed(percentile(hits, p) - percentile(floors, p)),
        target: p === 50 ? '≤ +1 ms' : '≤ +3 ms',
      });
    }

    // 2b. A hit on the agent request: a later session, whose clock differs, finds the stored answer.
    const agentHitBody = agentBody('hit');
    const agentStored = await timedPost(hitUrl, agentHitBody);
    const agentLater = agentHitBody.replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/, '2030-01-01T00:00:00.000Z');
    if ((await timedPost(hitUrl, agentLater)).headers['x-deja-cache'] !== 'HIT')
      throw new Error('a later session of the agent request did not hit');
    const agentFloor = await startFloor(agentStored.body);
    servers.push(agentFloor);
    const agentFloorUrl = `${agentFloor.url}/chat/completions`;
    await alternate(
      100,
      async () => (await timedPost(hitUrl, agentLater)).totalMs,
      async () => (await timedPost(agentFloorUrl, agentLater)).totalMs,
    );
    const [agentHits, agentFloors] = await alternate(
      Math.min(rounds, 1500),
      async () => (await timedPost(hitUrl, agentLater)).totalMs,
      async () => (await timedPost(agentFloorUrl, agentLater)).totalMs,
    );
    rows.push({
      measure: 'exact hit on that request from a later session, p50',
      deja: fmt(percentile(agentHits, 50)),
      reference: `${fmt(percentile(agentFloors, 50))} (bare Node http, same bytes)`,
      difference: signed(percentile(agentHits, 50) - percentile(agentFloors, 50)),
      target: '(not set)',
    });

    // 3. Hit throughput with 50 connections.
    const hitLoad = await throughput(hitUrl, hitBody, seconds);
    const floorLoad = await throughput(floorUrl, hitBody, seconds);
    const failed = hitLoad.non2xx + hitLoad.errors + hitLoad.timeouts;
    rows.push({
      measure: `exact hits per second, 50 connections, ${seconds} s`,
      deja: `${Math.round(hitLoad.requests.average)}/s (p50 ${hitLoad.latency.p50} ms, p99 ${hitLoad.latency.p99} ms, ${failed} failed)`,
      reference: `${Math.round(floorLoad.requests.average)}/s (bare Node http)`,
      difference: `${((hitLoad.requests.average / floorLoad.requests.average) * 100).toFixed(0)}% of the floor`,
      target: '≥ 3,000/s',
    });

    // 4. First token of a streamed miss; the upstream spaces tokens 2 ms apart.
    const streamSim = await startSim(0, 2);
    servers.push(streamSim);
    const streamDeja = await startDeja(streamSim.url, join(dataDir, 'stream'));
    servers.push(streamDeja);
    const firstToken = /"content":"Answer/;
    const streamRounds = options.quick ? 100 : 500;
    const [viaDeja, direct] = await alternate(
      streamRounds,
      async () => (await timedPost(`${streamDeja.url}/chat/completions`, chat(`stream ${n++}`, { stream: true }), firstToken)).firstMs,
      async () => (await timedPost(`${streamSim.url}/chat/completions`, chat(`stream ${n++}`, { stream: true }), firstToken)).firstMs,
    );
    rows.push({
      measure: `streamed miss, first token p50 (${streamRounds} each)`,
      deja: fmt(percentile(viaDeja, 50)),
      reference: `${fmt(percentile(direct, 50))} (simulated vLLM directly)`,
      difference: signed(percentile(viaDeja, 50) - percentile(direct, 50)),
      target: '≤ +2 ms',
    });
    return rows;
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await rm(dataDir, { recursive: true, force: true });
  }
}

export function printRows(title: string, rows: Row[]): void {
  process.stdout.write(`\n### ${title}\n\n| measure | Deja | reference | difference | target |\n|---|---|---|---|---|\n`);
  for (const row of rows) process.stdout.write(`| ${row.measure} | ${row.deja} | ${row.reference} | ${row.difference} | ${row.target} |\n`);
}
