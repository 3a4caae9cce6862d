/**
 * The last requests as they happen. It lives outside the overview's re-render,
 * so a stats refresh never clears it; only new rows are added (aria-live reads
 * additions, not the whole list).
 */

import type { RequestEventDto } from '../../../src/shared/protocol';
import { h, icon } from '../dom';
import { clock, dateTime, ms, shortModel } from '../format';
import { outcomeBadge, outcomeLabel, tierBadge } from './badges';

const MAX = 20;

export class LiveFeed {
  readonly element: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly empty: HTMLParagraphElement;
  private readonly seen = new Set<number>();

  constructor() {
    this.list = h('ol', {
      class: 'live-list',
      'aria-live': 'polite',
      'aria-relevant': 'additions',
      'aria-label': 'Latest requests, newest first',
    });
    this.empty = h('p', { class: 'muted live-empty' }, 'Waiting for requests…');
    this.element = h(
      'section',
      { class: 'card live', 'aria-labelledby': 'live-title' },
      h('h2', { id: 'live-title', class: 'card-title' }, h('span', { class: 'live-dot', 'aria-hidden': 'true' }), 'Live'),
      this.empty,
      h('div', { class: 'live-scroll' }, this.list),
    );
  }

  push(event: RequestEventDto): void {
    if (this.seen.has(event.id)) return;
    this.seen.add(event.id);
    this.empty.hidden = true;
    const time = h('time', { class: 'live-time', datetime: new Date(event.at).toISOString(), title: dateTime(event.at) }, clock(event.at));
    const took = h(
      'span',
      { class: 'live-ms', title: event.upstreamMs !== null ? `Upstream ${ms(event.upstreamMs)}` : 'Served without calling the upstream' },
      ms(event.gatewayMs),
    );
    const tier = tierBadge(event);
    const item = h(
      'li',
      {
        class: 'live-item',
        'aria-label': `${clock(event.at)} ${outcomeLabel(event.outcome)}${tier ? ' from the team' : ''} ${event.model} ${ms(event.gatewayMs)}${event.stream ? ' streamed' : ''}`,
      },
      time,
      h('span', { class: 'live-outcome' }, outcomeBadge(event.outcome, event.status)),
      // The team badge goes before the name: the name is what gets cut short.
      h('span', { class: 'live-model' }, tier, h('span', { class: 'live-model-name', title: event.model }, shortModel(event.model))),
      h('span', { class: 'live-stream', title: event.stream ? 'Streamed' : undefined }, event.stream ? icon('pulse') : null),
      took,
    );
    this.list.prepend(item);
    while (this.list.children.length > MAX) {
      const last = this.list.lastElementChild;
      if (!last) break;
      last.remove();
    }
    if (this.seen.size > 1000) {
      // Ids only guard against a replayed event; old ones can go.
      const keep = [...this.seen].slice(-MAX * 2);
      this.seen.clear();
      keep.forEach((id) => this.seen.add(id));
    }
  }
}
