/** "1–50 of 1,234" with Prev / Next buttons. */

import { button, h } from '../dom';
import { count } from '../format';

export class Pager {
  readonly element: HTMLDivElement;
  private readonly label: HTMLSpanElement;
  private readonly prev: HTMLElementTagNameMap['vscode-button'];
  private readonly next: HTMLElementTagNameMap['vscode-button'];
  private offset = 0;
  private total = 0;

  constructor(
    private readonly pageSize: number,
    onPage: (offset: number) => void,
    noun: string,
  ) {
    this.label = h('span', { class: 'pager-label', 'aria-live': 'polite' });
    this.prev = button('Prev', {
      icon: 'chevron-left',
      secondary: true,
      ariaLabel: `Previous page of ${noun}`,
      onClick: () => onPage(Math.max(0, this.offset - this.pageSize)),
    });
    this.next = button('Next', { secondary: true, ariaLabel: `Next page of ${noun}`, onClick: () => onPage(this.offset + this.pageSize) });
    const after = h('span', { class: 'codicon codicon-chevron-right', slot: 'content-after', 'aria-hidden': 'true' });
    this.next.append(after);
    this.element = h('div', { class: 'pager', role: 'navigation', 'aria-label': `${noun} pages` }, this.label, this.prev, this.next);
  }

  update(offset: number, shown: number, total: number): void {
    this.offset = offset;
    this.total = total;
    this.label.textContent = total === 0 ? 'No results' : `${count(offset + 1)}–${count(offset + shown)} of ${count(total)}`;
    this.prev.disabled = offset <= 0;
    this.next.disabled = offset + shown >= this.total;
  }
}
