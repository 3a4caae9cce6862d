/** The detail pane of one cache entry: prompt, answer, metadata and the stored request/response JSON. */

import type { EntryDetailDto, EntrySummaryDto } from '../../../src/shared/protocol';
import { button, h, iconButton, loading, type Child } from '../dom';
import { bytes, count, dateTime, prettyJson, relative } from '../format';

export class EntryDetailView {
  readonly element: HTMLElement;
  private readonly body: HTMLDivElement;
  private readonly title: HTMLHeadingElement;
  private current: string | null = null;

  constructor(
    private readonly onEvict: (id: string) => void,
    private readonly onClose: () => void,
  ) {
    this.title = h('h2', { id: 'detail-title', class: 'detail-title', tabindex: '-1' }, 'Entry');
    this.body = h('div', { class: 'detail-body' });
    const evict = button('Evict', { icon: 'trash', onClick: () => this.current && this.onEvict(this.current) });
    this.element = h(
      'aside',
      { class: 'detail', 'aria-labelledby': 'detail-title', hidden: true },
      h('div', { class: 'detail-head' }, this.title, h('div', { class: 'detail-actions' }, evict, iconButton('close', 'Close details', () => this.onClose()))),
      this.body,
    );
    this.element.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') this.onClose();
    });
  }

  get id(): string | null {
    return this.current;
  }

  /** Shows what the table row already knows while the full entry loads. */
  open(summary: EntrySummaryDto): void {
    this.current = summary.id;
    this.element.hidden = false;
    this.title.textContent = `Entry ${summary.id.slice(0, 12)}`;
    this.render(summary, null);
  }

  show(entry: EntryDetailDto): void {
    if (this.current !== null && entry.id !== this.current) return; // an answer to an earlier click
    this.current = entry.id;
    this.element.hidden = false;
    this.title.textContent = `Entry ${entry.id.slice(0, 12)}`;
    this.render(entry, entry);
  }

  close(): void {
    this.current = null;
    this.element.hidden = true;
    this.body.replaceChildren();
  }

  focus(): void {
    this.title.focus();
  }

  private render(summary: EntrySummaryDto, detail: EntryDetailDto | null): void {
    const section = (title: string, ...children: Child[]): HTMLElement => h('section', { class: 'detail-section' }, h('h3', {}, title), ...children);
    const meta: Array<[string, string, string?]> = [
      ['ID', summary.id],
      ['Model', summary.model],
      ['Endpoint', summary.endpoint],
      ['Hits', count(summary.hits)],
      ['Last hit', summary.lastHitAt ? relative(summary.lastHitAt) : 'never', summary.lastHitAt ? dateTime(summary.lastHitAt) : undefined],
      ['Created', relative(summary.createdAt), dateTime(summary.createdAt)],
      ['Expires', relative(summary.expiresAt), dateTime(summary.expiresAt)],
      ['Size', bytes(summary.size)],
    ];
    if (detail) meta.push(['Stored from', detail.source === 'stream' ? 'a streamed response' : 'a JSON response']);
    if (detail?.normalized.length) {
      meta.push(['Key ignores', `${detail.normalized.join(', ')} in the tool’s boilerplate`, 'Values the tool changes every session were masked in this entry’s key, so the same question from the same workspace hits in a later session.']);
    }
    const dl = h('dl', { class: 'facts' });
    for (const [label, value, title] of meta) dl.append(h('dt', {}, label), h('dd', { title, class: label === 'ID' || label === 'Model' ? 'mono' : undefined }, value));

    this.body.replaceChildren(
      section('Prompt', h('div', { class: 'text-block' }, summary.prompt || '(empty)')),
      section('Answer', h('div', { class: 'text-block' }, summary.answer || '(empty)')),
      section('Metadata', dl),
      ...(detail
        ? [this.json('Request', detail.request), this.json('Response', detail.response)]
        : [loading('Loading the stored request and response…')]),
    );
  }

  private json(title: string, value: unknown): HTMLElement {
    return h('details', { class: 'detail-section json', open: true }, h('summary', {}, title), h('pre', { class: 'code', tabindex: '0', 'aria-label': `${title} JSON` }, prettyJson(value)));
  }
}
