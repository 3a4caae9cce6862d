/**
 * Hand-drawn SVG charts (no chart library): the hit-rate timeline and a
 * sparkline. Colors come from --vscode-charts-* through classes in styles.css.
 * The timeline redraws at its container's pixel width so text never stretches.
 */

import type { TimeBucketDto } from '../../../src/shared/protocol';
import { h, svg } from '../dom';
import { axisTime, count, dateTime, percent } from '../format';

const HEIGHT = 220;
const M = { top: 12, right: 44, bottom: 26, left: 44 };

/** A round upper bound for an axis: 1, 2, 5, 10, 20, 50... */
function niceMax(value: number): number {
  if (value <= 0) return 4;
  const exp = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * exp >= value) return step * exp;
  return 10 * exp;
}

export class TimelineChart {
  readonly element: HTMLDivElement;
  private readonly canvas: HTMLDivElement;
  private buckets: TimeBucketDto[] = [];
  private span = { from: 0, to: 0 };
  private width = 0;

  constructor() {
    this.canvas = h('div', { class: 'chart-canvas' });
    const legend = h(
      'div',
      { class: 'chart-legend', 'aria-hidden': 'true' },
      h('span', {}, h('i', { class: 'swatch exact' }), 'Exact hits'),
      h('span', {}, h('i', { class: 'swatch semantic' }), 'Semantic hits'),
      h('span', {}, h('i', { class: 'swatch other' }), 'Other requests'),
      h('span', {}, h('i', { class: 'swatch line' }), 'Hit rate (right axis)'),
    );
    this.element = h('div', { class: 'chart' }, this.canvas, legend);
    new ResizeObserver(() => {
      const width = Math.floor(this.canvas.clientWidth);
      if (width > 0 && width !== this.width) {
        this.width = width;
        this.draw();
      }
    }).observe(this.canvas);
  }

  update(buckets: TimeBucketDto[], span: { from: number; to: number }): void {
    this.buckets = buckets;
    this.span = span;
    this.width = Math.floor(this.canvas.clientWidth);
    this.draw();
  }

  private draw(): void {
    const width = Math.max(this.width, 320);
    const buckets = this.buckets;
    const plotW = width - M.left - M.right;
    const plotH = HEIGHT - M.top - M.bottom;
    const total = buckets.reduce((sum, b) => sum + b.requests, 0);
    const hits = buckets.reduce((sum, b) => sum + b.exactHits + b.semanticHits, 0);
    const root = svg('svg', {
      width,
      height: HEIGHT,
      viewBox: `0 0 ${width} ${HEIGHT}`,
      role: 'img',
      'aria-label': `Requests and hit rate over time: ${count(total)} requests, ${percent(total ? hits / total : null)} hits, in ${buckets.length} intervals.`,
    });
    const maxY = niceMax(Math.max(0, ...buckets.map((b) => b.requests)));
    const y = (v: number): number => M.top + plotH - (v / maxY) * plotH;
    const yRate = (r: number): number => M.top + plotH - r * plotH;

    // Grid and axes.
    const grid = svg('g', { class: 'grid' });
    for (let i = 0; i <= 4; i++) {
      const v = (maxY / 4) * i;
      const py = Math.round(y(v)) + 0.5;
      grid.append(svg('line', { x1: M.left, x2: width - M.right, y1: py, y2: py }));
      grid.append(svg('text', { x: M.left - 6, y: py + 4, 'text-anchor': 'end', class: 'axis-label' }, count(v)));
      grid.append(svg('text', { x: width - M.right + 6, y: py + 4, 'text-anchor': 'start', class: 'axis-label rate' }, `${i * 25}%`));
    }
    root.append(grid);

    const n = buckets.length;
    if (n === 0) {
      root.append(
        svg(
          'text',
          { x: M.left + plotW / 2, y: M.top + plotH / 2, 'text-anchor': 'middle', class: 'axis-label' },
          'No data in this window',
        ),
      );
      this.canvas.replaceChildren(root);
      return;
    }

    const slot = plotW / n;
    const gap = slot > 6 ? Math.min(4, slot * 0.2) : 0.5;
    const barW = Math.max(1, slot - gap);
    const bars = svg('g', { class: 'bars' });
    const points: string[][] = [[]];
    buckets.forEach((b, i) => {
      const x = M.left + i * slot + gap / 2;
      const other = Math.max(0, b.requests - b.exactHits - b.semanticHits);
      const group = svg('g', { class: 'bucket' });
      let base = 0;
      for (const [value, cls] of [
        [b.exactHits, 'exact'],
        [b.semanticHits, 'semantic'],
        [other, 'other'],
      ] as const) {
        if (value <= 0) continue;
        const top = y(base + value);
        group.append(
          svg('rect', {
            x: x.toFixed(2),
            y: top.toFixed(2),
            width: barW.toFixed(2),
            height: Math.max(0.5, y(base) - top).toFixed(2),
            class: cls,
          }),
        );
        base += value;
      }
      const rate = b.requests > 0 ? (b.exactHits + b.semanticHits) / b.requests : null;
      // A full-height transparent target, so hovering anywhere in the column shows the tooltip.
      group.append(
        svg(
          'rect',
          { x: (M.left + i * slot).toFixed(2), y: M.top, width: slot.toFixed(2), height: plotH, class: 'hover-target' },
          svg(
            'title',
            {},
            `${dateTime(b.at)}\n${count(b.requests)} requests\n${count(b.exactHits)} exact hits · ${count(b.semanticHits)} semantic hits\nHit rate ${percent(rate)}`,
          ),
        ),
      );
      bars.append(group);
      if (rate === null) points.push([]);
      else points[points.length - 1]!.push(`${(x + barW / 2).toFixed(2)},${yRate(rate).toFixed(2)}`);
    });
    root.append(bars);

    // The hit-rate line, broken where a bucket had no requests.
    const line = svg('g', { class: 'rate-line' });
    for (const run of points) {
      if (run.length === 1) {
        const [px, py] = run[0]!.split(',');
        line.append(svg('circle', { cx: px, cy: py, r: 2 }));
      } else if (run.length > 1) {
        line.append(svg('polyline', { points: run.join(' ') }));
      }
    }
    root.append(line);

    // Time labels: about one every 110 px.
    const spanMs = (this.span.to || (buckets[n - 1]?.at ?? 0)) - (this.span.from || (buckets[0]?.at ?? 0));
    const every = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(plotW / 110))));
    const xAxis = svg('g', {});
    for (let i = 0; i < n; i += every) {
      const b = buckets[i]!;
      const cx = M.left + i * slot + slot / 2;
      xAxis.append(
        svg(
          'text',
          { x: cx.toFixed(1), y: HEIGHT - 8, 'text-anchor': i === 0 ? 'start' : 'middle', class: 'axis-label' },
          axisTime(b.at, spanMs),
        ),
      );
    }
    xAxis.append(svg('line', { x1: M.left, x2: width - M.right, y1: M.top + plotH + 0.5, y2: M.top + plotH + 0.5, class: 'axis' }));
    root.append(xAxis);
    this.canvas.replaceChildren(root);
  }
}

/** A small line over time, for a 0..1 series; gaps where a value is null. */
export function sparkline(values: Array<number | null>, label: string, width = 160, height = 32): SVGSVGElement {
  const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'sparkline', role: 'img', 'aria-label': label });
  const n = values.length;
  if (n < 2) return root;
  const runs: string[][] = [[]];
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      runs.push([]);
      return;
    }
    const x = (i / (n - 1)) * (width - 2) + 1;
    const y = height - 1 - Math.min(1, Math.max(0, v)) * (height - 2);
    runs[runs.length - 1]!.push(`${x.toFixed(1)},${y.toFixed(1)}`);
  });
  root.append(svg('line', { x1: 0, x2: width, y1: height - 0.5, y2: height - 0.5, class: 'baseline' }));
  for (const run of runs) if (run.length > 1) root.append(svg('polyline', { points: run.join(' ') }));
  return root;
}
