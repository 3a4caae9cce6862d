/**
 * What keeping numbers exact costs (issue 14): reading a body and making its exact key, as the
 * gateway did before (JSON.parse, one scan for depth and overflow, the key over the parsed
 * body) and as it does now (the same scan also flags a number a double does not keep; only
 * then is the text read again for those numbers, and the key writes them as they came).
 * The old scan and the old canonical JSON are frozen copies of the code before the change.
 * In one process, interleaved, many rounds; medians, and the ratio now / before.
 *
 *   npx tsx bench/exactNumbersBench.ts [--quick]
 */
import { identifyRequest, keyedRequest, tenantTag } from '../src/core/cacheKey';
import { hexDigest } from '../src/core/digest';
import { inexactNumbersIn } from '../src/core/exactNumbers';
import type { JsonObject, JsonValue } from '../src/core/types';
import { jsonTextProblem, MAX_JSON_DEPTH } from '../src/gateway/jsonBody';
import { allCases } from '../test/fixtures/devtools/index';
import { SESSION_A } from '../test/fixtures/devtools/workspace';
import { percentile } from './lib';

const TENANT = tenantTag('http://127.0.0.1:8000/v1', undefined);

/** jsonTextProblem as it was before the change. */
function oldJsonTextProblem(text: string, maxDepth: number): 'too_deep' | 'number_overflow' | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return 'too_deep';
    } else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      let exponent = false;
      for (
        let n = text.charCodeAt(i + 1);
        (n >= 0x30 && n <= 0x39) || n === 0x2e || n === 0x2b || n === 0x2d || n === 0x65 || n === 0x45;
        n = text.charCodeAt(++i + 1)
      ) {
        exponent ||= n === 0x65 || n === 0x45;
      }
      if ((exponent || i - start > 300) && !Number.isFinite(Number(text.slice(start, i + 1)))) return 'number_overflow';
    }
  }
  return undefined;
}

/** canonicalJson as it was before the change. */
function oldCanonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(oldCanonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const item = value[key];
    if (item === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${oldCanonicalJson(item)}`);
  }
  return `{${parts.join(',')}}`;
}

/** Before: parse, scan, key (no volatile masks: the common exact path). */
function before(text: string): string {
  const body = JSON.parse(text) as JsonObject;
  if (oldJsonTextProblem(text, MAX_JSON_DEPTH)) throw new Error('unexpected problem');
  return hexDigest('sha256', `deja:exact:v1\nchat.completions\n${TENANT}\n${oldCanonicalJson(keyedRequest(body))}`).slice(0, 32);
}

/** Now: parse, scan (flagging inexact numbers), read them only when flagged, key with them. */
function after(text: string): string {
  const body = JSON.parse(text) as JsonObject;
  const scan = jsonTextProblem(text, MAX_JSON_DEPTH);
  if (scan === 'too_deep' || scan === 'number_overflow') throw new Error('unexpected problem');
  const exact = scan === 'inexact_number' ? inexactNumbersIn(text) : undefined;
  return identifyRequest('chat.completions', TENANT, body, [], exact).key;
}

const scanBefore = (text: string) => oldJsonTextProblem(text, MAX_JSON_DEPTH);
const scanAfter = (text: string) => jsonTextProblem(text, MAX_JSON_DEPTH);

/** Microseconds per call of each run, over `rounds` rounds of `batch` calls, interleaved (the order rotates each round). */
function time(texts: string[], runs: Array<(text: string) => unknown>, rounds: number, batch: number): number[][] {
  const samples = runs.map(() => [] as number[]);
  const bytes = texts.map((text) => Buffer.from(text, 'utf8'));
  let sink = 0;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < runs.length; i++) {
      const k = (round + i) % runs.length;
      // A fresh string each call, decoded from bytes as the gateway decodes a body.
      const copies = Array.from({ length: batch }, (_, j) => bytes[j % bytes.length]!.toString('utf8'));
      const start = process.hrtime.bigint();
      for (const copy of copies) sink += String(runs[k]!(copy)).length;
      samples[k]!.push(Number(process.hrtime.bigint() - start) / 1e3 / batch);
    }
  }
  if (sink < 0) process.stdout.write('');
  return samples;
}

export interface ExactNumbersRow {
  body: string;
  size: string;
  scanBefore: number;
  scanAfter: number;
  before: number;
  after: number;
}

/** The rows of `runs` whole runs, each figure the median over the runs of each run's median. */
export function exactNumbersBench(options: { quick: boolean; runs?: number }): ExactNumbersRow[] {
  const runs = Array.from({ length: options.runs ?? (options.quick ? 1 : 5) }, () => exactNumbersRun(options.quick));
  const median = (values: number[]) => percentile(values, 50);
  return runs[0]!.map((row, i) => ({
    ...row,
    scanBefore: median(runs.map((run) => run[i]!.scanBefore)),
    scanAfter: median(runs.map((run) => run[i]!.scanAfter)),
    before: median(runs.map((run) => run[i]!.before)),
    after: median(runs.map((run) => run[i]!.after)),
  }));
}

function exactNumbersRun(quick: boolean): ExactNumbersRow[] {
  const rounds = quick ? 100 : 300;
  const cases = allCases();
  const corpus = (id: string) => {
    const found = cases.find(({ c }) => c.id === id)!;
    return JSON.stringify(found.module.build(found.c, SESSION_A).body);
  };
  const small = JSON.stringify({
    model: 'm',
    messages: [{ role: 'user', content: 'What is a cache?' }],
    temperature: 0.2,
    max_tokens: 256,
    seed: 42,
  });
  const bodies: Array<{ label: string; text: string }> = [
    { label: 'a small chat request (seed 42)', text: small },
    { label: 'OpenAI SDK script (openai-sdk-001)', text: corpus('openai-sdk-001') },
    { label: 'Continue, chat with a code block (continue-001)', text: corpus('continue-001') },
    { label: 'Cline, first turn (cline-001)', text: corpus('cline-001') },
    { label: 'a small chat request, seed 9007199254740993 (the slow path)', text: small.replace('"seed":42', '"seed":9007199254740993') },
    {
      label: 'Cline first turn + seed 9007199254740993 (the slow path)',
      text: corpus('cline-001').replace(/^\{/, '{"seed":9007199254740993,'),
    },
  ];
  const rows: ExactNumbersRow[] = [];
  for (const { label, text } of bodies) {
    const batch = text.length > 10_000 ? 10 : 200;
    const runs = [before, after, scanBefore, scanAfter];
    time([text], runs, 30, batch);
    const [was, now, scanWas, scanNow] = time([text], runs, rounds, batch).map((samples) => percentile(samples, 50)) as [
      number,
      number,
      number,
      number,
    ];
    rows.push({
      body: label,
      size: `${(text.length / 1024).toFixed(1)} KB`,
      scanBefore: scanWas,
      scanAfter: scanNow,
      before: was,
      after: now,
    });
  }
  return rows;
}

export function printExactNumbersRows(rows: ExactNumbersRow[]): void {
  const us = (value: number) => `${value.toFixed(2)} µs`;
  process.stdout.write(
    "\n### Keeping numbers exact (npx tsx bench/exactNumbersBench.ts)\n\nPer request, the median over 5 runs (1 with --quick) of each run's p50 of interleaved rounds: the scan for depth and overflow alone, then parse + scan + exact key, before and now.\n\n| body | size | scan before | scan now | ratio | read + key before | read + key now | ratio |\n|---|---|---|---|---|---|---|---|\n",
  );
  for (const row of rows) {
    process.stdout.write(
      `| ${row.body} | ${row.size} | ${us(row.scanBefore)} | ${us(row.scanAfter)} | ${(row.scanAfter / row.scanBefore).toFixed(3)} | ${us(row.before)} | ${us(row.after)} | ${(row.after / row.before).toFixed(3)} |\n`,
    );
  }
}

if (require.main === module) {
  process.stdout.write(`Node ${process.version}\n`);
  printExactNumbersRows(exactNumbersBench({ quick: process.argv.includes('--quick') }));
}
