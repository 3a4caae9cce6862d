/**
 * `npm run eval:policy [-- --verbose] [-- --set dev|dev2|test]`: runs the labelled prompts in
 * test/fixtures/policy-{dev,dev2,test}.jsonl through the policy and prints precision and
 * recall per reason, and for the skip decision as a whole. The dev sets are the ones the
 * rules were tuned on; the test set was written separately and only measured.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Policy } from '../src/core/policy/policy';
import { SKIP_REASONS } from '../src/shared/protocol';
import type { Endpoint, JsonObject } from '../src/core/types';

interface LabelledPrompt {
  id: string;
  lang: 'en' | 'ru';
  label: string;
  also?: string[];
  prompt: string;
  request?: JsonObject & { endpoint?: string };
  note?: string;
}

/** The prompt as a request body, the way a tool would send it. */
export function requestFor(item: LabelledPrompt): { endpoint: Endpoint; body: JsonObject } {
  const { endpoint = 'chat', ...extra } = item.request ?? {};
  if (endpoint === 'completions') return { endpoint: 'completions', body: { model: 'm', prompt: item.prompt, ...extra } };
  return { endpoint: 'chat.completions', body: { model: 'm', messages: [{ role: 'user', content: item.prompt }], ...extra } };
}

export function readSet(name: string): LabelledPrompt[] {
  return readFileSync(join(__dirname, '../test/fixtures', `policy-${name}.jsonl`), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LabelledPrompt);
}

interface Scores {
  /** precision/recall accept a reason listed in `also`; the strict ones need the primary label. */
  rows: Array<{
    reason: string;
    support: number;
    predicted: number;
    precision: number;
    recall: number;
    strictPrecision: number;
    strictRecall: number;
  }>;
  decision: { precision: number; recall: number; falseSkipRate: number };
  mistakes: Array<{ item: LabelledPrompt; predicted: string; rule?: string; span?: string }>;
}

export function score(items: LabelledPrompt[], policy = new Policy()): Scores {
  const now = new Date('2026-11-25T12:00:00Z');
  const results = items.map((item) => {
    const decision = policy.classify({ ...requestFor(item), now });
    return decision.cacheable
      ? { item, predicted: 'cacheable' }
      : { item, predicted: decision.reason, rule: decision.rule, span: decision.span?.text };
  });
  const acceptable = (item: LabelledPrompt, predicted: string) => predicted === item.label || (item.also ?? []).includes(predicted);
  const rows = SKIP_REASONS.filter((reason) => reason !== 'client_opt_out').map((reason) => {
    const support = results.filter(({ item }) => item.label === reason).length;
    const predicted = results.filter((result) => result.predicted === reason);
    const correct = predicted.filter(({ item, predicted: p }) => acceptable(item, p)).length;
    const found = results.filter(({ item, predicted: p }) => item.label === reason && p !== 'cacheable' && acceptable(item, p)).length;
    const exact = predicted.filter(({ item }) => item.label === reason).length;
    return {
      reason,
      support,
      predicted: predicted.length,
      precision: correct / predicted.length,
      recall: found / support,
      strictPrecision: exact / predicted.length,
      strictRecall: exact / support,
    };
  });
  const skipped = results.filter((result) => result.predicted !== 'cacheable');
  const shouldSkip = results.filter(({ item }) => item.label !== 'cacheable');
  const cacheable = results.filter(({ item }) => item.label === 'cacheable');
  const decision = {
    precision: skipped.filter(({ item }) => item.label !== 'cacheable').length / skipped.length,
    recall: shouldSkip.filter((result) => result.predicted !== 'cacheable').length / shouldSkip.length,
    falseSkipRate: cacheable.filter((result) => result.predicted !== 'cacheable').length / cacheable.length,
  };
  const mistakes = results.filter(({ item, predicted }) => !acceptable(item, predicted));
  return { rows, decision, mistakes };
}

const pct = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'n/a');

function print(name: string, items: LabelledPrompt[], verbose: boolean): void {
  const { rows, decision, mistakes } = score(items);
  const languages = [...new Set(items.map((item) => item.lang))].join(' + ');
  process.stdout.write(`\n### policy-${name}.jsonl: ${items.length} prompts (${languages})\n\n`);
  process.stdout.write(
    '| reason | prompts | predicted | precision | recall | precision, primary label only | recall, primary label only |\n|---|---|---|---|---|---|---|\n',
  );
  for (const row of rows) {
    process.stdout.write(
      `| ${row.reason} | ${row.support} | ${row.predicted} | ${pct(row.precision)} | ${pct(row.recall)} | ${pct(row.strictPrecision)} | ${pct(row.strictRecall)} |\n`,
    );
  }
  process.stdout.write(
    `| skip decision (any reason) | ${items.filter((item) => item.label !== 'cacheable').length} | ${items.filter((item) => !['cacheable'].includes(item.label)).length} | ${pct(decision.precision)} | ${pct(decision.recall)} | | |\n`,
  );
  process.stdout.write(`\nCacheable prompts skipped by mistake: ${pct(decision.falseSkipRate * 100)}%\n`);
  if (verbose) {
    for (const { item, predicted, rule, span } of mistakes) {
      process.stdout.write(
        `- ${item.id} [${item.label}${item.also?.length ? `|${item.also.join('|')}` : ''} -> ${predicted}${rule ? ` ${rule} "${span}"` : ''}] ${item.prompt.slice(0, 140).replace(/\n/g, ' ')}\n`,
      );
    }
  }
}

function main(): void {
  const { values } = parseArgs({ options: { verbose: { type: 'boolean' }, set: { type: 'string' } } });
  const verbose = values.verbose ?? process.env.npm_config_verbose === 'true';
  const sets = values.set ? [values.set] : ['dev', 'dev2', 'test'];
  process.stdout.write(`Policy evaluation, ${new Date().toISOString().slice(0, 10)} (dates judged as of 2026-11-25)\n`);
  for (const name of sets) print(name, readSet(name), verbose);
}

if (require.main === module) main();
