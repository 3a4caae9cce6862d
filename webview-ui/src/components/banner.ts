/**
 * Banners under the header: dismissible error banners for `error/show`, and
 * status banners that reflect a condition (shown while it holds, gone when it clears).
 */

import { h, icon, iconButton } from '../dom';

const MAX_BANNERS = 3;

interface StatusBanner {
  element: HTMLDivElement;
  text: HTMLSpanElement;
}

export class Banners {
  readonly element: HTMLDivElement;
  private readonly statuses = new Map<string, StatusBanner>();

  constructor() {
    this.element = h('div', { class: 'banners' });
  }

  show(message: string): void {
    // The same message twice in a row just stays where it is.
    for (const existing of this.errorBanners()) {
      if (existing.dataset.message === message) return;
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
    for (let errors = this.errorBanners(); errors.length > MAX_BANNERS; errors = this.errorBanners()) errors[0]?.remove();
  }

  /**
   * A warning that mirrors a condition, keyed so repeated updates keep one banner
   * (its text kept current). Null clears it. Dismissing hides it only until the
   * condition clears: the next time it holds, the banner is back.
   */
  setStatus(key: string, status: { message: string; dismissLabel: string } | null): void {
    const current = this.statuses.get(key);
    if (status === null) {
      current?.element.remove();
      this.statuses.delete(key);
      return;
    }
    if (current) {
      // Still the same condition; a dismissed banner stays detached, only its text moves on.
      if (current.text.textContent !== status.message) current.text.textContent = status.message;
      return;
    }
    const text = h('span', { class: 'banner-text' }, status.message);
    const element = h('div', { class: 'banner warning', role: 'alert' }, icon('warning'), text);
    element.dataset.status = key;
    element.append(iconButton('close', status.dismissLabel, () => element.remove()));
    // Conditions first, then the transient errors.
    this.element.insertBefore(element, this.errorBanners()[0] ?? null);
    this.statuses.set(key, { element, text });
  }

  private errorBanners(): HTMLElement[] {
    return Array.from(this.element.querySelectorAll<HTMLElement>(':scope > [data-message]'));
  }
}
