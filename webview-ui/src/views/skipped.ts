/**
 * The Skipped tab: requests the policy refused to cache, newest first, with
 * the text that made the rule fire marked in the prompt.
 */

import {
  PAGE_SIZE,
  SKIP_REASONS,
  type SkippedPageDto,
  type SkippedRequestDto,
  type SkipReasonDto,
  type WebviewToHost,
} from '../../../src/shared/protocol';
import { reasonBadge } from '../components/badges';
import { Pager } from '../components/pager';
import { h, icon, loading, select, setChildren, type Child } from '../dom';
import { clock, count, dateTime, humanize, monthDay, relative } from '../format';
import { excerpt, highlight, isPromptField, locateSpan } from '../highlight';

/** Characters of prompt shown around the span before "Show full prompt". */
const CONTEXT = 300;

/** A page of skipped requests to ask the host for. */
export type SkippedRequest = Omit<Extract<WebviewToHost, { type: 'skipped/request' }>, 'type'>;

/** What the user asks of the tab; the app talks to the host and keeps the saved state. */
export interface SkippedIntents {
  /** The reason filter changed (null: all reasons); a request for its first page follows. */
  onReason(reason: SkipReasonDto | null): void;
  onRequest(request: SkippedRequest): void;
}

export class SkippedView {
  readonly element: HTMLDivElement;
  private reason: SkipReasonDto | null;
  private offset = 0;
  private readonly list: HTMLOListElement;
  private readonly status: HTMLDivElement;
  private readonly totalLabel: HTMLSpanElement;
  private readonly pager: Pager;

  constructor(
    initialReason: SkipReasonDto | null,
    private readonly intents: SkippedIntents,
  ) {
    this.reason = initialReason;
    const reasonSelect = select(
      'Filter by reason',
      [{ value: '', label: 'All reasons' }, ...SKIP_REASONS.map((r) => ({ value: r, label: humanize(r) }))],
      initialReason ?? '',
      (value) => {
        this.reason = SKIP_REASONS.find((r) => r === value) ?? null;
        this.intents.onReason(this.reason);
        this.request(0);
      },
    );
    reasonSelect.classList.add('reason-select');
    this.totalLabel = h('span', { class: 'muted', 'aria-live': 'polite' });
    this.list = h('ol', { class: 'skipped-list', 'aria-label': 'Skipped requests, newest first' });
    this.status = h('div', { class: 'table-status' }, loading('Loading skipped requests…'));
    this.pager = new Pager(PAGE_SIZE, (offset) => this.request(offset), 'skipped requests');
    this.element = h(
      'div',
      { class: 'skipped' },
      h(
        'div',
        { class: 'toolbar', role: 'toolbar', 'aria-label': 'Skipped requests' },
        h('span', { class: 'toolbar-label', 'aria-hidden': 'true' }, 'Reason'),
        reasonSelect,
        this.totalLabel,
      ),
      h('p', { class: 'muted intro' }, 'Requests the policy kept out of the cache, newest first, with the text that made the rule fire.'),
      this.status,
      this.list,
      this.pager.element,
    );
  }

  /** What to ask for when the dashboard starts. */
  currentRequest(): SkippedRequest {
    return { reason: this.reason, offset: this.offset, limit: PAGE_SIZE };
  }

  private request(offset: number): void {
    this.offset = offset;
    this.intents.onRequest({ reason: this.reason, offset, limit: PAGE_SIZE });
  }

  showPage(reason: SkipReasonDto | null, page: SkippedPageDto): void {
    if (reason !== this.reason) return; // an answer for a filter the user has since changed
    this.offset = page.offset;
    const items = page.items.slice(0, PAGE_SIZE).sort((a, b) => b.at - a.at);
    this.list.replaceChildren(...items.map((item) => this.item(item)));
    this.pager.update(page.offset, items.length, page.total);
    this.pager.element.hidden = page.total <= PAGE_SIZE && page.offset === 0;
    this.totalLabel.textContent = `${count(page.total)} skipped`;
    this.status.replaceChildren(
      ...(items.length === 0
        ? [
            h(
              'div',
              { class: 'empty-table' },
              icon('pass'),
              h(
                'p',
                {},
                reason ? `No requests were skipped as “${humanize(reason)}”.` : 'No request has been skipped. Everything was cacheable.',
              ),
            ),
          ]
        : []),
    );
  }

  private item(r: SkippedRequestDto): HTMLLIElement {
    const sameDay = new Date(r.at).toDateString() === new Date().toDateString();
    const meta = h(
      'div',
      { class: 'skipped-meta' },
      h(
        'time',
        { datetime: new Date(r.at).toISOString(), title: `${dateTime(r.at)} (${relative(r.at)})`, class: 'skipped-time' },
        sameDay ? clock(r.at) : `${monthDay(r.at)} ${clock(r.at)}`,
      ),
      reasonBadge(r.reason),
      h('span', { class: 'mono skipped-model', title: r.model }, r.model),
      r.rule ? h('code', { class: 'rule', title: 'The rule that fired' }, r.rule) : null,
      h('span', { class: 'muted endpoint' }, r.endpoint),
    );
    return h('li', { class: 'skipped-item' }, meta, this.promptBlock(r));
  }

  private promptBlock(r: SkippedRequestDto): HTMLElement {
    const prompt = r.prompt ?? '';
    const span = r.span;
    const range = span && isPromptField(span.field) && prompt ? locateSpan(prompt, span) : null;
    const block = h('div', { class: 'prompt-block' });
    // A parameter or header (temperature, cache-control, user...): "field: text".
    if (span && !range) {
      block.append(h('div', { class: 'field-span' }, h('span', { class: 'muted' }, `${span.field}: `), h('mark', {}, span.text)));
    }
    if (!prompt) {
      if (!span) block.append(h('div', { class: 'muted' }, 'No prompt text was recorded.'));
      return block;
    }
    const text = h('div', { class: 'prompt-text' });
    const needsToggle = prompt.length > CONTEXT;
    const renderText = (full: boolean): void => {
      const parts: Child[] = [];
      if (range) {
        const hl = highlight(prompt, range, full ? undefined : CONTEXT);
        parts.push(
          hl.cutStart ? '… ' : '',
          hl.before,
          h('mark', { title: `${span?.field ?? ''}: matched by ${r.rule ?? 'the policy'}` }, hl.match),
          hl.after,
          hl.cutEnd ? ' …' : '',
        );
      } else {
        const ex = full ? { text: prompt, cut: false } : excerpt(prompt, CONTEXT);
        parts.push(ex.text, ex.cut ? ' …' : '');
      }
      setChildren(text, ...parts.filter((p) => p !== ''));
    };
    renderText(false);
    block.append(text);
    if (needsToggle) {
      let full = false;
      const toggle = h(
        'button',
        { type: 'button', class: 'link-button', 'aria-expanded': 'false' },
        `Show full prompt (${count(prompt.length)} characters)`,
      );
      toggle.addEventListener('click', () => {
        full = !full;
        renderText(full);
        toggle.setAttribute('aria-expanded', String(full));
        toggle.textContent = full ? 'Show less' : `Show full prompt (${count(prompt.length)} characters)`;
      });
      block.append(toggle);
    }
    return block;
  }
}
