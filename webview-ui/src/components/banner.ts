/** Dismissible error banners for `error/show`. */

import { h, icon, iconButton } from '../dom';

const MAX_BANNERS = 3;

export class Banners {
  readonly element: HTMLDivElement;

  constructor() {
    this.element = h('div', { class: 'banners' });
  }

  show(message: string): void {
    // The same message twice in a row just stays where it is.
    for (const existing of Array.from(this.element.children)) {
      if ((existing as HTMLElement).dataset.message === message) return;
    }
    const text = h('span', { class: 'banner-text' }, message);
    const banner = h('div', { class: 'banner', role: 'alert' }, icon('error'), text);
    banner.dataset.message = message;
    banner.append(
      iconButton('close', 'Dismiss', () => {
        banner.remove();
      }),
    );
    this.element.append(banner);
    while (this.element.children.length > MAX_BANNERS) this.element.firstElementChild?.remove();
  }
}
