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
      h(
        'div',
        { class: 'detail-head' },
        this.title,
        h(
          'div',
          { class: 'detail-actions' },
          evict,
          iconButton('close', 'Close details', () => this.onClose()),
        ),
      ),
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
    const section = (title: string, ...children: Child[]): HTMLElement =>
      h('section', { class: 'detail-section' }, h('h3', {}, title), ...children);
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
      meta.push([
        'Key ignores',
        `${detail.normalized.join(', ')} in the tool’s boilerplate`,
        'Values the tool changes every session were masked in this entry’s key, so the same question from the same workspace hits in a later session.',
      ]);
    }
    const dl = h('dl', { class: 'facts' });
    for (const [label, value, title] of meta)
      dl.append(h('dt', {}, label), h('dd', { title, class: label === 'ID' || label === 'Model' ? 'mono' : undefined }, value));

    this.body.replaceChildren(
      section('Prompt', h('div', { class: 'text-block' }, summary.prompt || '(empty)')),
      section('Answer', h('div', { class: 'text-block' }, summary.answer || '(empty)')),
      section('Metadata', dl),
      ...(detail?.learned ? [this.learned(detail.learned)] : []),
      ...(detail
        ? [this.json('Request', detail.request), this.json('Response', detail.response)]
        : [loading('Loading the stored request and response…')]),
    );
  }

  /** What the semantic level learned about this entry: the questions that found it, right or wrong, and where it is served from. */
  private learned(learned: NonNullable<EntryDetailDto['learned']>): HTMLElement {
    const { observations, threshold, mode } = learned;
    const served =
      mode !== 'verified'
        ? 'Static mode: served to questions at or above the similarity threshold.'
        : threshold === null
          ? 'Not served to other questions yet: what was learned does not yet bound the chance of a wrong answer.'
          : `Served to questions at similarity ${threshold.toFixed(3)} or more.`;
    const rows = [...observations].reverse().slice(0, 20);
    return h(
      'section',
      { class: 'detail-section learned' },
      h('h3', {}, 'Learned from similar questions'),
      h('p', { class: 'muted' }, served),
      observations.length === 0
        ? h('p', { class: 'muted' }, 'No similar question has been checked against this entry yet.')
        : h(
            'table',
            { class: 'mini-table observations' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { scope: 'col' }, 'When'),
                h('th', { scope: 'col', class: 'num' }, 'Similarity'),
                h('th', { scope: 'col' }, 'Its answer was'),
              ),
            ),
            h(
              'tbody',
              {},
              ...rows.map((o) =>
                h(
                  'tr',
                  {},
                  h('td', { title: dateTime(o.at) }, relative(o.at)),
                  h('td', { class: 'num' }, o.similarity.toFixed(3)),
                  h('td', { class: o.correct ? 'ok' : 'error' }, o.correct ? 'right' : 'wrong'),
                ),
              ),
            ),
          ),
      observations.length > rows.length ? h('p', { class: 'muted' }, `and ${count(observations.length - rows.length)} earlier`) : null,
    );
  }

  private json(title: string, value: unknown): HTMLElement {
    return h(
      'details',
      { class: 'detail-section json', open: true },
      h('summary', {}, title),
      h('pre', { class: 'code', tabindex: '0', 'aria-label': `${title} JSON` }, prettyJson(value)),
    );
  }
}
