/**
 * `npm run eval:devtools [-- --verbose] [-- --split dev|test]`: runs the corpus of real
 * dev-tool request shapes (test/fixtures/devtools/) through the gateway's own reading of a
 * request (anatomy, policy, exact key) and prints:
 * - agreement with the labels per tool and per reason, on the cache-or-skip decision and on
 *   the reason, for the cases the rules were tuned on (dev) and the held-out ones (test);
 * - the later-session hit rate: each case built in two sessions of one workspace that differ
 *   only in the clock, the cost, ports and ids, keyed as the gateway keys it.
 * `--verbose` lists the dev cases that disagree; the held-out ones are only counted.
 */
import { parseArgs } from 'node:util';
import { readAnatomy, type PromptAnatomy } from '../src/core/anatomy/promptAnatomy';
import type { ClientHints } from '../src/core/anatomy/devTools';
import { identifyRequest, tenantTag } from '../src/core/cacheKey';
import { Policy } from '../src/core/policy/policy';
import type { PolicyDecision } from '../src/core/policy/policyTypes';
import { semanticQueryFor } from '../src/core/semantic/semanticQuery';
import type { Endpoint } from '../src/core/types';
import { allCases } from '../test/fixtures/devtools/index';
import type { DevtoolCase, DevtoolModule, DevtoolRequest } from '../test/fixtures/devtools/types';
import { SESSION_A, SESSION_B } from '../test/fixtures/devtools/workspace';

const ENDPOINTS: Record<DevtoolRequest['endpoint'], Endpoint> = {
  '/v1/chat/completions': 'chat.completions',
  '/v1/completions': 'completions',
};
const TENANT = tenantTag('http://127.0.0.1:8000/v1', 'Bearer team-key');

/** The headers a tool sends, as the gateway reads them. */
export function hintsOf(request: DevtoolRequest): ClientHints {
  return {
    userAgent: request.headers['user-agent'],
    title: request.headers['x-title'],
    referer: request.headers['http-referer'],
    headerNames: Object.keys(request.headers),
  };
}

/** A case read as the gateway reads it: its anatomy and the policy's decision. */
export interface JudgedCase {
  module: DevtoolModule;
  c: DevtoolCase;
  request: DevtoolRequest;
  anatomy: PromptAnatomy;
  decision: PolicyDecision;
  predicted: string;
}

export function judge(module: DevtoolModule, c: DevtoolCase, policy = new Policy()): JudgedCase {
  const request = module.build(c, SESSION_A);
  const endpoint = ENDPOINTS[request.endpoint];
  const anatomy = readAnatomy(endpoint, request.body, hintsOf(request));
  const decision = policy.classify({ endpoint, body: request.body, anatomy, now: SESSION_A.now });
  return { module, c, request, anatomy, decision, predicted: decision.cacheable ? 'cacheable' : decision.reason };
}

/** The exact key and semantic partition of a request, as the gateway makes them (volatile values masked). */
export function keysOf(request: DevtoolRequest): { key: string; partition: string | undefined; normalized: string[] } {
  const endpoint = ENDPOINTS[request.endpoint];
  const anatomy = readAnatomy(endpoint, request.body, hintsOf(request));
  const identity = identifyRequest(endpoint, TENANT, request.body, anatomy.volatile);
  const semantic = semanticQueryFor(endpoint, TENANT, identity.keyed, anatomy, identity.normalized.length ? anatomy.volatile : []);
  return { key: identity.key, partition: semantic?.partition, normalized: identity.normalized };
}

const skipsOf = (label: string) => label !== 'cacheable';
const acceptable = (c: DevtoolCase, predicted: string) => predicted === c.expected || (c.also ?? []).includes(predicted as never);

interface Tally {
  cases: number;
  decisionAgrees: number;
  reasonAgrees: number;
  /** Cases whose tool the gateway named right (from the shape and headers). */
  toolNamed: number;
}

const pct = (part: number, whole: number) => (whole === 0 ? 'n/a' : `${((100 * part) / whole).toFixed(1)}%`);

function tally(judged: JudgedCase[]): Tally {
  return {
    cases: judged.length,
    decisionAgrees: judged.filter(({ c, predicted }) => skipsOf(c.expected) === skipsOf(predicted)).length,
    reasonAgrees: judged.filter(({ c, predicted }) => acceptable(c, predicted)).length,
    toolNamed: judged.filter(({ c, anatomy }) => anatomy.tool === c.tool).length,
  };
}

function printTable(title: string, rows: Array<[string, Tally]>): void {
  process.stdout.write(`\n${title}\n\n| | cases | cache vs skip | right reason | tool named |\n|---|---|---|---|---|\n`);
  for (const [name, t] of rows)
    process.stdout.write(
      `| ${name} | ${t.cases} | ${pct(t.decisionAgrees, t.cases)} | ${pct(t.reasonAgrees, t.cases)} | ${pct(t.toolNamed, t.cases)} |\n`,
    );
}

function group<K extends string>(judged: JudgedCase[], by: (j: JudgedCase) => K): Array<[string, Tally]> {
  const groups = new Map<string, JudgedCase[]>();
  for (const item of judged) groups.set(by(item), [...(groups.get(by(item)) ?? []), item]);
  return [...groups.entries()].map(([name, items]) => [name, tally(items)]);
}

/** Later sessions: the share of cases whose two sessions' requests share an exact key (and partition). */
export function laterSessions(): {
  pairs: number;
  differing: number;
  keyHits: number;
  partitionPairs: number;
  partitionHits: number;
  misses: string[];
} {
  let pairs = 0;
  let differing = 0;
  let keyHits = 0;
  let partitionPairs = 0;
  let partitionHits = 0;
  const misses: string[] = [];
  for (const { module, c } of allCases()) {
    const a = module.build(c, SESSION_A);
    const b = module.build(c, SESSION_B);
    pairs++;
    if (JSON.stringify(a.body) === JSON.stringify(b.body)) continue;
    differing++;
    const ka = keysOf(a);
    const kb = keysOf(b);
    if (ka.key === kb.key) keyHits++;
    else misses.push(c.id);
    if (ka.partition !== undefined || kb.partition !== undefined) {
      partitionPairs++;
      if (ka.partition === kb.partition) partitionHits++;
    }
  }
  return { pairs, differing, keyHits, partitionPairs, partitionHits, misses };
}

function main(): void {
  const { values } = parseArgs({ options: { verbose: { type: 'boolean' }, split: { type: 'string' } } });
  const verbose = values.verbose ?? process.env.npm_config_verbose === 'true';
  const policy = new Policy();
  const judged = allCases().map(({ module, c }) => judge(module, c, policy));
  process.stdout.write(
    `Dev-tool corpus, ${new Date().toISOString().slice(0, 10)}: ${judged.length} labelled requests from ${new Set(judged.map((j) => j.c.tool)).size} tools (dates judged as of ${SESSION_A.now.toISOString().slice(0, 10)})\n`,
  );
  for (const split of values.split ? [values.split] : ['dev', 'test']) {
    const items = judged.filter((j) => j.c.split === split);
    const heading = split === 'dev' ? 'dev (tuned on)' : 'test (held out, never tuned on)';
    printTable(`### ${heading}: by tool`, [...group(items, (j) => j.c.tool), ['**all**', tally(items)]]);
    printTable(
      `### ${heading}: by expected reason`,
      group(items, (j) => j.c.expected),
    );
    printTable(
      `### ${heading}: by mode`,
      group(items, (j) => j.c.mode),
    );
  }
  const later = laterSessions();
  process.stdout.write(
    `\n### Later sessions\n\n${later.pairs} cases built in two sessions of one workspace; ${later.differing} of them send different bodies (the clock, the cost, ports, ids).\n` +
      `Exact key shared: ${later.keyHits} of ${later.differing} (${pct(later.keyHits, later.differing)}); semantic partition shared: ${later.partitionHits} of ${later.partitionPairs}.\n`,
  );
  if (later.misses.length) process.stdout.write(`Not shared: ${later.misses.join(', ')}\n`);
  if (verbose) {
    process.stdout.write('\n### dev cases that disagree\n\n');
    for (const j of judged.filter((item) => item.c.split === 'dev' && !acceptable(item.c, item.predicted))) {
      const span = j.decision.cacheable ? '' : ` ${j.decision.rule} "${(j.decision.span?.text ?? '').slice(0, 60).replace(/\n/g, ' ')}"`;
      process.stdout.write(
        `- ${j.c.id} [${j.c.expected} -> ${j.predicted}${span}] (${j.anatomy.tool}, wrapped ${j.anatomy.wrapped}) ${j.c.question.slice(0, 100).replace(/\n/g, ' ')}\n`,
      );
    }
  }
}

if (require.main === module) main();
