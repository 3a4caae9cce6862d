/**
 * What reading a dev tool's request costs: the anatomy (question, wrapping, fill-in-the-middle
 * markers, volatile values), the policy over the question, and the exact key with the volatile
 * values masked, on requests from the corpus as the tools build them, beside what the gateway
 * did before it read tools' wrapping (the policy over the whole last user message, the key
 * over the raw body). In one process, interleaved, many rounds; medians.
 */
import { readAnatomy, type PromptAnatomy } from '../src/core/anatomy/promptAnatomy';
import { identifyRequest, tenantTag } from '../src/core/cacheKey';
import { Policy, promptText } from '../src/core/policy/policy';
import type { Endpoint } from '../src/core/types';
import { hintsOf } from '../scripts/evalDevtools';
import { allCases } from '../test/fixtures/devtools/index';
import type { DevtoolRequest } from '../test/fixtures/devtools/types';
import { SESSION_A } from '../test/fixtures/devtools/workspace';
import { fmt, percentile, signed } from './lib';

export interface Row {
  request: string;
  size: string;
  before: string;
  after: string;
  anatomy: string;
  difference: string;
  target: string;
}

const TENANT = tenantTag('http://127.0.0.1:8000/v1', undefined);

/** The request path a body takes, as the gateway names it. */
const endpointOf = (request: DevtoolRequest): Endpoint => (request.endpoint === '/v1/completions' ? 'completions' : 'chat.completions');

/** The reading before this change: no anatomy, the policy over the whole last user message, the key over the raw body. */
function before(request: DevtoolRequest, policy: Policy): void {
  const endpoint = endpointOf(request);
  const source = promptText(endpoint, request.body);
  const whole: PromptAnatomy = {
    tool: 'unknown',
    wrapped: false,
    question: source && { field: source.field, text: source.text, regions: [{ start: 0, end: source.text.length }], blocks: [] },
    fim: undefined,
    volatile: [],
  };
  policy.classify({ endpoint, body: request.body, anatomy: whole, now: SESSION_A.now });
  identifyRequest(endpoint, TENANT, request.body);
}

/** The reading now: the anatomy, the policy over the question, the key with volatile values masked. */
function after(request: DevtoolRequest, policy: Policy): void {
  const endpoint = endpointOf(request);
  const anatomy = readAnatomy(endpoint, request.body, hintsOf(request));
  policy.classify({ endpoint, body: request.body, anatomy, now: SESSION_A.now });
  identifyRequest(endpoint, TENANT, request.body, anatomy.volatile);
}

function anatomyOnly(request: DevtoolRequest): void {
  readAnatomy(endpointOf(request), request.body, hintsOf(request));
}

/**
 * Milliseconds per call of each run, over `rounds` rounds of `batch` calls, interleaved. Each
 * call gets its own copy of the request, parsed from JSON as the gateway parses it (a string
 * read once is cheaper to read again: V8 keeps its hash).
 */
function time(request: DevtoolRequest, runs: Array<(request: DevtoolRequest) => void>, rounds: number, batch: number): number[][] {
  const raw = JSON.stringify(request.body);
  const samples = runs.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < runs.length; i++) {
      const k = (round + i) % runs.length;
      const copies = Array.from({ length: batch }, () => ({ ...request, body: JSON.parse(raw) as DevtoolRequest['body'] }));
      const start = process.hrtime.bigint();
      for (const copy of copies) runs[k]!(copy);
      samples[k]!.push(Number(process.hrtime.bigint() - start) / 1e6 / batch);
    }
  }
  return samples;
}

/** The corpus requests the table shows: the agents' big first turns, an edit, a chat, an autocomplete. */
const SHOWN: Array<{ id: string; label: string }> = [
  { id: 'cline-001', label: 'Cline, first turn of a question' },
  { id: 'cline-011', label: 'Cline, a later turn (tool result)' },
  { id: 'roo-002', label: 'Roo Code, first turn' },
  { id: 'openhands-003', label: 'OpenHands, first turn' },
  { id: 'aider-006', label: 'aider, ask in code mode' },
  { id: 'continue-001', label: 'Continue, chat with a code block' },
  { id: 'continue-022', label: 'Continue, autocomplete' },
  { id: 'openai-sdk-001', label: 'a script on the OpenAI SDK' },
];

export function devtoolsBench(options: { quick: boolean }): Row[] {
  const rounds = options.quick ? 200 : 1000;
  const policy = new Policy();
  const cases = allCases();
  const rows: Row[] = [];
  for (const shown of SHOWN) {
    const found = cases.find(({ c }) => c.id === shown.id);
    if (!found) continue;
    const request = found.module.build(found.c, SESSION_A);
    const size = JSON.stringify(request.body).length;
    const batch = size > 10_000 ? 5 : 50;
    const runs = [(copy: DevtoolRequest) => before(copy, policy), (copy: DevtoolRequest) => after(copy, policy), anatomyOnly];
    // Warm the code and the regular expressions before measuring.
    time(request, runs, 50, batch);
    const [was, now, read] = time(request, runs, rounds, batch) as [number[], number[], number[]];
    const agent = size >= 20_000 && found.c.mode === 'agent';
    rows.push({
      request: `${shown.label} (${shown.id})`,
      size: `${(size / 1024).toFixed(1)} KB`,
      before: fmt(percentile(was, 50)),
      after: fmt(percentile(now, 50)),
      anatomy: fmt(percentile(read, 50)),
      difference: signed(percentile(now, 50) - percentile(was, 50)),
      target: agent ? '≤ +0.3 ms' : '',
    });
  }
  return rows;
}

export function printDevtoolsRows(title: string, rows: Row[]): void {
  process.stdout.write(
    `\n### ${title}\n\nPer request, p50 of many interleaved rounds: the reading before (policy over the whole last user message, key over the raw body) and now (anatomy, policy over the question, key with volatile values masked).\n\n| request | body | before | now | of which anatomy | difference | target |\n|---|---|---|---|---|---|---|\n`,
  );
  for (const row of rows)
    process.stdout.write(
      `| ${row.request} | ${row.size} | ${row.before} | ${row.after} | ${row.anatomy} | ${row.difference} | ${row.target} |\n`,
    );
}
