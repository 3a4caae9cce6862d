/**
 * The dashboard's shell: header, banners, the gateway-down panel and the three
 * tabs. It owns what the views share (gateway status, window, latest stats),
 * and it alone talks to the host and to the saved state: the views report what
 * the user wants through callbacks, and the app turns that into requests.
 */

import type {
  EntryDetailDto,
  EntryPageDto,
  EntryQueryDto,
  GatewayStatusDto,
  RequestEventDto,
  SkippedPageDto,
  SkipReasonDto,
  StatsDto,
  StatsWindowDto,
} from '../../src/shared/protocol';
import { Banners } from './components/banner';
import { LiveFeed } from './components/liveFeed';
import { button, h, icon, loading } from './dom';
import { compactCount } from './format';
import { parseState, TABS, type PersistedState, type TabId } from './state';
import { getState, post, setState } from './vscodeApi';
import { EntriesView } from './views/entries';
import { Header } from './views/header';
import { OverviewView } from './views/overview';
import { SkippedView } from './views/skipped';

/** How long to wait for the host's gateway status before asking for data anyway. */
const GATEWAY_GRACE_MS = 1500;

const isUp = (s: GatewayStatusDto | null): boolean => s !== null && (s.state === 'running' || s.state === 'attached');

export class App {
  private gateway: GatewayStatusDto | null = null;
  private stats: StatsDto | null = null;
  private window: StatsWindowDto;
  private requested = false;
  private saved: PersistedState;

  private readonly header: Header;
  private readonly banners = new Banners();
  private readonly live = new LiveFeed();
  private readonly overview: OverviewView;
  private readonly entries: EntriesView;
  private readonly skipped: SkippedView;
  private readonly tabs: HTMLElementTagNameMap['vscode-tabs'];
  private readonly downPanel: HTMLDivElement;
  private readonly tabBadges: Record<'entries' | 'skipped', HTMLElementTagNameMap['vscode-badge']>;

  constructor(root: HTMLElement) {
    const saved = parseState(getState());
    this.saved = saved;
    this.window = saved.window;
    this.header = new Header(saved.window, {
      onWindow: (w) => this.selectWindow(w),
      onStart: () => post({ type: 'gateway/start' }),
      onRefresh: () => this.requestAll(),
    });
    this.overview = new OverviewView(this.live);
    this.overview.showPlaceholder(loading('Loading statistics…'));
    this.entries = new EntriesView(saved.entries, {
      onQuery: (query) => {
        this.save({ entries: { ...query } });
        post({ type: 'entries/request', query: { ...query } });
      },
      onOpen: (id) => post({ type: 'entry/request', id }),
      onEvict: (ids) => post({ type: 'entries/evict', ids }),
      onEvictMatching: (filter) => post({ type: 'entries/evictMatching', filter }),
      onClear: () => post({ type: 'entries/clear' }),
    });
    this.skipped = new SkippedView(saved.skippedReason, {
      onReason: (reason) => this.save({ skippedReason: reason }),
      onRequest: (request) => post({ type: 'skipped/request', ...request }),
    });

    this.tabBadges = {
      entries: h('vscode-badge', { variant: 'counter', hidden: true }),
      skipped: h('vscode-badge', { variant: 'counter', hidden: true }),
    };
    this.tabs = h(
      'vscode-tabs',
      { 'selected-index': TABS.indexOf(saved.tab), class: 'tabs' },
      h('vscode-tab-header', { slot: 'header' }, icon('graph'), ' Overview'),
      h('vscode-tab-panel', {}, this.overview.element),
      h('vscode-tab-header', { slot: 'header' }, icon('database'), ' Entries ', this.tabBadges.entries),
      h('vscode-tab-panel', {}, this.entries.element),
      h('vscode-tab-header', { slot: 'header' }, icon('circle-slash'), ' Skipped ', this.tabBadges.skipped),
      h('vscode-tab-panel', {}, this.skipped.element),
    );
    this.tabs.addEventListener('vsc-tabs-select', (ev) => {
      const tab: TabId = TABS[ev.detail.selectedIndex] ?? 'overview';
      this.save({ tab });
    });
    this.downPanel = h('div', { class: 'gateway-down', hidden: true });

    root.replaceChildren(this.header.element, this.banners.element, h('main', { class: 'app-main' }, this.downPanel, this.tabs));
  }

  /** After `ready`: data is requested once the gateway is known to be up (or the host is slow to say). */
  started(): void {
    window.setTimeout(() => {
      if (!this.requested && (this.gateway === null || isUp(this.gateway))) this.requestAll();
    }, GATEWAY_GRACE_MS);
  }

  requestAll(): void {
    this.requested = true;
    post({ type: 'stats/request', window: this.window });
    post({ type: 'entries/request', query: this.entries.currentQuery() });
    post({ type: 'skipped/request', ...this.skipped.currentRequest() });
  }

  setGateway(status: GatewayStatusDto): void {
    const wasUp = isUp(this.gateway);
    this.gateway = status;
    this.header.setGateway(status);
    const down = status.state === 'off' || status.state === 'error';
    this.tabs.hidden = down;
    this.downPanel.hidden = !down;
    if (down) this.downPanel.replaceChildren(this.downCard(status));
    else if (status.state === 'starting' && !this.stats) this.overview.showPlaceholder(loading('Starting the gateway…'));
    // Coming (back) up: whatever was shown is stale.
    if (isUp(status) && !wasUp) this.requestAll();
    if (this.stats && isUp(status)) this.overview.update(this.stats, this.window, status);
    this.updateTeamBanner();
  }

  setStats(window: StatsWindowDto, stats: StatsDto): void {
    this.stats = stats;
    // What is shown is labelled with the window it was computed for.
    this.window = window;
    this.header.setWindow(window);
    this.overview.update(stats, window, this.gateway);
    this.entries.setModels(stats.byModel.map((m) => m.model));
    this.setBadge('entries', stats.cache.entries);
    this.updateTeamBanner();
  }

  setEntries(query: EntryQueryDto, page: EntryPageDto): void {
    this.entries.showPage(query, page);
  }

  setEntry(entry: EntryDetailDto): void {
    this.entries.showDetail(entry);
  }

  setSkipped(reason: SkipReasonDto | null, page: SkippedPageDto): void {
    this.skipped.showPage(reason, page);
    // The badge counts what the tab lists (all reasons), not the stats window.
    if (reason === null) this.setBadge('skipped', page.total);
  }

  liveRequest(event: RequestEventDto): void {
    this.live.push(event);
  }

  showError(message: string): void {
    this.banners.show(message);
  }

  private selectWindow(window: StatsWindowDto): void {
    this.window = window;
    this.save({ window });
    post({ type: 'stats/request', window });
  }

  /** Merges `patch` into the saved state. */
  private save(patch: Partial<PersistedState>): void {
    this.saved = { ...this.saved, ...patch };
    setState(this.saved);
  }

  /** While the team tier is down: a state, not an error, so it goes by itself when Redis is back. */
  private updateTeamBanner(): void {
    const team = this.stats?.shared;
    // With the gateway off or failed, the Start panel says enough; the team's last state is stale.
    const gatewayDown = this.gateway !== null && (this.gateway.state === 'off' || this.gateway.state === 'error');
    const down = team?.state === 'down' && !gatewayDown;
    this.banners.setStatus(
      'team',
      down
        ? {
            message: `Team cache unreachable${team.reason ? ` (${team.reason})` : ''}: Deja is answering from this machine only and will resume sharing when Redis is back.`,
            dismissLabel: 'Hide until the team cache goes down again',
          }
        : null,
    );
  }

  private setBadge(tab: 'entries' | 'skipped', value: number): void {
    const badge = this.tabBadges[tab];
    badge.textContent = compactCount(value);
    badge.hidden = value <= 0;
  }

  private downCard(status: GatewayStatusDto): HTMLElement {
    const failed = status.state === 'error';
    return h(
      'section',
      { class: `card down-card${failed ? ' failed' : ''}`, role: failed ? 'alert' : 'status', 'aria-labelledby': 'down-title' },
      icon(failed ? 'error' : 'debug-disconnect'),
      h('h2', { id: 'down-title' }, failed ? 'The gateway failed' : 'The gateway is not running'),
      failed && status.message ? h('p', { class: 'error-text down-message' }, status.message) : null,
      h(
        'p',
        { class: 'muted' },
        failed
          ? 'Nothing is being cached until it runs again. The dashboard shows its figures once it is back.'
          : 'Start it to cache your LLM calls and see hit rates, stored entries and skipped requests here.',
      ),
      button('Start gateway', { icon: 'play', onClick: () => post({ type: 'gateway/start' }) }),
    );
  }
}
