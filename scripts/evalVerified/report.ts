/** Markdown tables of the evaluation: medians and worst cases over orders. */
import type { RunMetrics } from './replay';
import { hitRate, wrongShare } from './replay';
import { DELTAS, STATIC_THRESHOLDS, type Overlap, type StreamResult } from './evaluate';
import { lowerMedian, median, quantile } from './quantiles';

export const pct = (value: number, digits = 1) => (Number.isFinite(value) ? `${(value * 100).toFixed(digits)}%` : 'n/a');
const num = (value: number) => (Number.isFinite(value) ? value.toLocaleString('en', { maximumFractionDigits: 1 }) : 'n/a');
/** A hindsight threshold; +∞ means no threshold of the grid was good enough: serve nothing. */
const threshold = (value: number) => (value === Number.POSITIVE_INFINITY ? 'none' : value.toFixed(3));
const sim = (value: number) => (Number.isFinite(value) ? value.toFixed(3) : 'n/a');

export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}

const QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95];

export function overlapTable(overlap: Overlap): string {
  const row = (name: string, values: number[]) => [name, num(values.length), ...QUANTILES.map((q) => sim(quantile(values, q)))];
  return markdownTable(
    ['similarity of', 'count', ...QUANTILES.map((q) => `p${Math.round(q * 100)}`)],
    [
      row('same-label pairs (all)', overlap.sameLabelPairs),
      row("a text's nearest same-label text", overlap.sameLabelNearest),
      row("a text's nearest different-label text", overlap.otherLabelNearest),
    ],
  );
}

export function verifiedTable(result: StreamResult): string {
  const rows = DELTAS.map((delta) => {
    const runs: RunMetrics[] = result.verified.get(delta)!;
    const shares = runs.map(wrongShare);
    const pooled = wrongShare({
      served: runs.reduce((sum, run) => sum + run.served, 0),
      wrong: runs.reduce((sum, run) => sum + run.wrong, 0),
    });
    const best = result.hindsight.get(delta)!;
    const thresholds = best.map((outcome) => outcome.threshold);
    return [
      pct(delta, 0),
      pct(median(shares), 2),
      pct(Math.max(...shares), 2),
      pct(pooled, 2),
      `${shares.filter((share) => share <= delta).length}/${runs.length}`,
      pct(median(runs.map(hitRate))),
      num(median(runs.map((run) => run.served))),
      num(median(runs.map((run) => run.explorations))),
      threshold(lowerMedian(result.learnedThreshold.get(delta)!)),
      pct(median(best.map(hitRate))),
      `${threshold(lowerMedian(thresholds))} (${threshold(Math.min(...thresholds))}–${threshold(Math.max(...thresholds))})`,
      pct(median(best.map(wrongShare)), 2),
      holdingCell(result, delta),
    ];
  });
  return markdownTable(
    [
      'δ',
      'verified wrong share: median',
      'worst',
      'pooled',
      'orders within δ',
      'verified hit rate (median)',
      'served (median)',
      'explorations (median)',
      "verified's threshold for a new entry at the end (lower median)",
      'hindsight-best static: hit rate (median)',
      'its threshold: lower median (range)',
      'its wrong share (median)',
      'one static threshold for all orders, within δ in ≥ 19 of 20 (labels): hit rate (median), threshold',
    ],
    rows,
  );
}

/** The best single static threshold that holds the bound as verified is asked to (see holdingBest). */
function holdingCell(result: StreamResult, delta: number): string {
  const holding = result.holding.get(delta);
  return holding ? `${pct(median(holding.outcomes.map(hitRate)))}, ${holding.threshold.toFixed(3)}` : 'none';
}

export function staticTable(result: StreamResult): string {
  const rows = [...result.statics].map(([threshold, outcomes]) => {
    const shares = outcomes.map(wrongShare);
    return [
      STATIC_THRESHOLDS.includes(threshold) ? threshold.toFixed(2) : threshold.toFixed(3),
      pct(median(shares), 2),
      pct(Math.max(...shares), 2),
      ...DELTAS.map((delta) => `${shares.filter((share) => share <= delta).length}/${shares.length}`),
      pct(median(outcomes.map(hitRate))),
      num(median(outcomes.map((o) => o.served))),
    ];
  });
  return markdownTable(
    [
      'static threshold',
      'wrong share: median',
      'worst',
      ...DELTAS.map((delta) => `orders within ${pct(delta, 0)}`),
      'hit rate (median)',
      'served (median)',
    ],
    rows,
  );
}
