/** The header: product name, gateway status, the stats window, Start and Refresh. */

import type { GatewayStatusDto, StatsWindowDto } from '../../../src/shared/protocol';
import { button, h, icon, iconButton, select } from '../dom';
import { WINDOWS } from '../format';

const STATE_LABEL: Record<GatewayStatusDto['state'], string> = {
  off: 'Off',
  starting: 'Starting…',
  running: 'Running',
  attached: 'Attached',
  error: 'Error',
};

export class Header {
  readonly element: HTMLElement;
  private readonly status: HTMLDivElement;
  private readonly windowSelect: HTMLElementTagNameMap['vscode-single-select'];
  private readonly start: HTMLElementTagNameMap['vscode-button'];
  private readonly dataControls: HTMLDivElement;

  constructor(window: StatsWindowDto, handlers: { onWindow: (w: StatsWindowDto) => void; onStart: () => void; onRefresh: () => void }) {
    this.status = h('div', { class: 'gateway-status', role: 'status', 'aria-live': 'polite' });
    this.windowSelect = select('Time window', WINDOWS, window, (value) => handlers.onWindow(value as StatsWindowDto));
    this.windowSelect.classList.add('window-select');
    this.start = button('Start gateway', { icon: 'play', onClick: handlers.onStart });
    this.start.hidden = true;
    // Window and refresh mean nothing while the gateway is down.
    this.dataControls = h(
      'div',
      { class: 'data-controls' },
      h('span', { class: 'toolbar-label', 'aria-hidden': 'true' }, 'Window'),
      this.windowSelect,
      iconButton('refresh', 'Refresh', handlers.onRefresh),
    );
    this.element = h(
      'header',
      { class: 'app-header' },
      h('div', { class: 'brand' }, icon('history'), h('h1', {}, 'Deja'), h('span', { class: 'muted tagline' }, 'LLM cache')),
      this.status,
      h('div', { class: 'header-actions' }, this.start, this.dataControls),
    );
    this.setGateway(null);
  }

  setWindow(window: StatsWindowDto): void {
    if (this.windowSelect.value !== window) this.windowSelect.value = window;
  }

  setGateway(status: GatewayStatusDto | null): void {
    if (!status) {
      this.status.replaceChildren(h('span', { class: 'dot unknown', 'aria-hidden': 'true' }), h('span', { class: 'muted' }, 'Connecting…'));
      this.start.hidden = true;
      return;
    }
    const parts: Node[] = [
      h('span', { class: `dot ${status.state}`, 'aria-hidden': 'true' }),
      h('span', { class: 'state' }, `Gateway ${STATE_LABEL[status.state].toLowerCase()}`),
    ];
    if (status.url && (status.state === 'running' || status.state === 'attached' || status.state === 'starting')) {
      parts.push(
        h(
          'code',
          { class: 'url', title: status.owned ? 'Started by this window' : 'Started elsewhere; this window attached to it' },
          status.url,
        ),
      );
    }
    if (status.state === 'attached' || (status.state === 'running' && !status.owned)) parts.push(h('span', { class: 'muted' }, '(shared)'));
    if (status.message && status.state === 'error') parts.push(h('span', { class: 'error-text', title: status.message }, status.message));
    else if (status.message) parts.push(h('span', { class: 'muted', title: status.message }, status.message));
    this.status.replaceChildren(...parts);
    const down = status.state === 'off' || status.state === 'error';
    this.start.hidden = !down;
    this.dataControls.hidden = down;
  }
}
