import type { Logger } from '../core/logger';
import type { GatewayStatusDto, LiveEventDto, StatsDto } from '../shared/protocol';
import { AdminClient } from './adminClient';
import type { GatewayController } from './gatewayController';

const STATS_POLL_MS = 5000;
/** After a request, the status bar's figures refresh this soon (once, however many arrive). */
const STATS_AFTER_REQUEST_MS = 1000;
const RECONNECT_MS = 3000;

/**
 * The extension's link to the gateway in use: an admin client for its URL and
 * data directory, the live event stream (reconnected when it drops), and the
 * status bar's stats, polled while a gateway is up.
 */
export class GatewayConnection {
  private client: AdminClient | undefined;
  private unsubscribe: (() => void) | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private soonTimer: NodeJS.Timeout | undefined;
  /** The client a poll is on its way for, if any. */
  private polling: AdminClient | undefined;
  private readonly eventListeners = new Set<(event: LiveEventDto) => void>();
  private readonly statsListeners = new Set<(stats: StatsDto | undefined) => void>();
  latestStats: StatsDto | undefined;

  constructor(
    private readonly controller: GatewayController,
    private readonly logger: Logger,
  ) {
    controller.onDidChange((status) => this.follow(status));
  }

  get admin(): AdminClient | undefined {
    return this.client;
  }

  onEvent(listener: (event: LiveEventDto) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onStats(listener: (stats: StatsDto | undefined) => void): () => void {
    this.statsListeners.add(listener);
    return () => this.statsListeners.delete(listener);
  }

  private follow(status: GatewayStatusDto): void {
    const up = (status.state === 'running' || status.state === 'attached') && status.url && this.controller.dataDir;
    if (!up) {
      this.disconnect();
      return;
    }
    if (this.client?.url === status.url) return;
    this.disconnect();
    this.client = new AdminClient(status.url!, this.controller.dataDir!);
    void this.connectEvents();
    void this.poll();
  }

  private async connectEvents(): Promise<void> {
    const client = this.client;
    if (!client) return;
    try {
      this.unsubscribe = await client.subscribe(
        (event) => {
          for (const listener of this.eventListeners) listener(event);
          if (event.type === 'request') this.pollSoon();
        },
        () => {
          if (this.client !== client) return;
          this.unsubscribe = undefined;
          this.reconnectTimer = setTimeout(() => void this.connectEvents(), RECONNECT_MS);
        },
      );
    } catch (error) {
      this.logger.debug('live events unavailable', { error });
      if (this.client === client) this.reconnectTimer = setTimeout(() => void this.connectEvents(), RECONNECT_MS);
    }
  }

  private async poll(): Promise<void> {
    const client = this.client;
    // One poll at a time: a poll brought forward while another is on its way is not needed.
    if (!client || this.polling === client) return;
    this.polling = client;
    try {
      const stats = await client.stats('1h');
      if (this.client === client) {
        this.latestStats = stats;
        for (const listener of this.statsListeners) listener(stats);
      }
    } catch (error) {
      this.logger.debug('stats unavailable', { error });
    } finally {
      if (this.polling === client) this.polling = undefined;
    }
    if (this.client === client) {
      if (this.pollTimer) clearTimeout(this.pollTimer);
      this.pollTimer = setTimeout(() => void this.poll(), STATS_POLL_MS);
    }
  }

  /** Brings the next stats poll forward, so the status bar follows requests as they happen. */
  private pollSoon(): void {
    if (this.soonTimer) return;
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined;
      if (this.pollTimer) clearTimeout(this.pollTimer);
      void this.poll();
    }, STATS_AFTER_REQUEST_MS);
  }

  private disconnect(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.soonTimer) clearTimeout(this.soonTimer);
    this.soonTimer = undefined;
    this.client = undefined;
    // Listeners hear of figures that went away, not of a disconnect with nothing shown.
    if (this.latestStats === undefined) return;
    this.latestStats = undefined;
    for (const listener of this.statsListeners) listener(undefined);
  }

  dispose(): void {
    this.disconnect();
    this.eventListeners.clear();
    this.statsListeners.clear();
  }
}
