import {
  PAGE_SIZE,
  type EntryQueryDto,
  type GatewayStatusDto,
  type HostToWebview,
  type LiveEventDto,
  type SkipReasonDto,
  type StatsWindowDto,
  type WebviewToHost,
} from '../shared/protocol';
import type { AdminClient } from './adminClient';

/** What a dashboard session needs from the extension; injected, so it is tested without VS Code. */
export interface SessionDeps {
  post(message: HostToWebview): void;
  /** The admin client of the gateway in use, or undefined when none is up. */
  admin(): AdminClient | undefined;
  status(): GatewayStatusDto;
  /** Asks the user before an eviction that cannot be undone; true when they agree. */
  confirm(question: string, action: string): Promise<boolean>;
  startGateway(): void;
  /** Timers for the stats throttle; the global ones by default. */
  timers?: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout };
}

const STATS_INTERVAL_MS = 2000;

/**
 * One open dashboard: answers its requests through the admin API and pushes
 * updates while it is visible. Live events refresh the numbers at most every
 * two seconds; entry changes reload the page the user is looking at.
 */
export class DashboardSession {
  private window: StatsWindowDto = '1h';
  private query: EntryQueryDto = { sort: 'created', order: 'desc', offset: 0, limit: PAGE_SIZE };
  private skipped: { reason: SkipReasonDto | null; offset: number; limit: number } = { reason: null, offset: 0, limit: PAGE_SIZE };
  private ready = false;
  private visible = true;
  private statsDue = false;
  private statsTimer: NodeJS.Timeout | undefined;

  private readonly timers: NonNullable<SessionDeps['timers']>;

  constructor(private readonly deps: SessionDeps) {
    this.timers = deps.timers ?? { setTimeout, clearTimeout };
  }

  /** Handles one message from the webview; errors go back to it as a banner. */
  async handle(message: WebviewToHost): Promise<void> {
    try {
      await this.dispatch(message);
    } catch (error) {
      this.deps.post({ type: 'error/show', message: (error as Error).message });
    }
  }

  private async dispatch(message: WebviewToHost): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.deps.post({ type: 'gateway/didChange', status: this.deps.status() });
        await this.refreshAll();
        return;
      case 'stats/request':
        this.window = message.window;
        await this.pushStats();
        return;
      case 'entries/request':
        this.query = message.query;
        await this.pushEntries();
        return;
      case 'entry/request': {
        const admin = this.deps.admin();
        if (admin) this.deps.post({ type: 'entry/didLoad', entry: await admin.entry(message.id) });
        return;
      }
      case 'entries/evict':
        await this.requireAdmin().evict(message.ids);
        await this.pushEntries();
        return;
      case 'entries/evictMatching': {
        const admin = this.requireAdmin();
        const { total } = await admin.entries({ ...message.filter, sort: 'created', order: 'desc', offset: 0, limit: 1 });
        if (total === 0) return;
        const question = `Evict the ${total} cached answer${total === 1 ? '' : 's'} matching this filter? This cannot be undone.`;
        if (!(await this.deps.confirm(question, 'Evict'))) return;
        await admin.evictMatching(message.filter);
        this.query = { ...this.query, offset: 0 };
        await this.pushEntries();
        return;
      }
      case 'entries/clear':
        if (!(await this.deps.confirm('Clear every cached answer? This cannot be undone.', 'Clear Cache'))) return;
        await this.requireAdmin().clear();
        this.query = { ...this.query, offset: 0 };
        await this.refreshAll();
        return;
      case 'skipped/request': {
        this.skipped = { reason: message.reason, offset: message.offset, limit: message.limit };
        const admin = this.deps.admin();
        if (admin)
          this.deps.post({
            type: 'skipped/didLoad',
            reason: message.reason,
            page: await admin.skipped(message.reason, message.offset, message.limit),
          });
        return;
      }
      case 'gateway/start':
        this.deps.startGateway();
        return;
      default: {
        const unknown: never = message;
        throw new Error(`unknown message ${JSON.stringify(unknown)}`);
      }
    }
  }

  private requireAdmin(): AdminClient {
    const admin = this.deps.admin();
    if (!admin) throw new Error('The gateway is not running: start it first.');
    return admin;
  }

  private async pushStats(): Promise<void> {
    const admin = this.deps.admin();
    if (!admin || !this.ready) return;
    this.deps.post({ type: 'stats/didChange', window: this.window, stats: await admin.stats(this.window) });
  }

  private async pushEntries(): Promise<void> {
    const admin = this.deps.admin();
    if (!admin || !this.ready) return;
    this.deps.post({ type: 'entries/didLoad', query: this.query, page: await admin.entries(this.query) });
  }

  private async pushSkipped(): Promise<void> {
    const admin = this.deps.admin();
    if (!admin || !this.ready) return;
    const { reason, offset, limit } = this.skipped;
    this.deps.post({ type: 'skipped/didLoad', reason, page: await admin.skipped(reason, offset, limit) });
  }

  /** Everything the dashboard shows, after it opens or the gateway changes. */
  async refreshAll(): Promise<void> {
    if (!this.ready) return;
    await Promise.all([this.pushStats(), this.pushEntries(), this.pushSkipped()]).catch((error: Error) =>
      this.deps.post({ type: 'error/show', message: error.message }),
    );
  }

  gatewayChanged(status: GatewayStatusDto): void {
    if (!this.ready) return;
    this.deps.post({ type: 'gateway/didChange', status });
    if (status.state === 'running' || status.state === 'attached') void this.refreshAll();
  }

  /** A live event from the gateway. Only pushed while the panel is visible. */
  live(event: LiveEventDto): void {
    if (!this.ready || !this.visible) return;
    if (event.type === 'request') {
      this.deps.post({ type: 'live/request', event: event.event });
      if (event.event.outcome === 'SKIP') void this.pushSkipped().catch(() => {});
      this.scheduleStats();
    } else if (event.type === 'entries/changed') {
      void this.pushEntries().catch(() => {});
      this.scheduleStats();
    } else {
      this.scheduleStats();
    }
  }

  /** Stats at most every two seconds, however many requests arrive. */
  private scheduleStats(): void {
    this.statsDue = true;
    if (this.statsTimer) return;
    this.statsTimer = this.timers.setTimeout(() => {
      this.statsTimer = undefined;
      if (!this.statsDue) return;
      this.statsDue = false;
      void this.pushStats().catch(() => {});
    }, STATS_INTERVAL_MS);
  }

  setVisible(visible: boolean): void {
    const becameVisible = visible && !this.visible;
    this.visible = visible;
    if (becameVisible) void this.refreshAll();
  }

  dispose(): void {
    if (this.statsTimer) this.timers.clearTimeout(this.statsTimer);
  }
}
