import { createClient, type RedisClientType } from '@redis/client';
import type { TeamStatusDto } from '../../shared/protocol';
import type { Logger } from '../logger';
import { redactRedisUrl } from './redisUrl';

export type TeamState = TeamStatusDto['state'];

/** The team tier's connection as `/health`, the status bar and the dashboard show it. */
export interface TeamConnectionStatus {
  state: TeamState;
  /** The Redis URL with any password masked. */
  url: string;
  /** Why it is down, while it is. */
  reason: string | null;
  /** Epoch ms of the last change of state (not of the reason). */
  since: number;
}

/** Reconnect delays grow to 5 s: Redis coming back is noticed within seconds, without hammering it while it is away. */
function reconnectDelay(retries: number): number {
  return Math.min(5000, 100 * 2 ** Math.min(retries, 6));
}

type Client = RedisClientType;

/**
 * The two Redis connections the team tier uses: one for commands, one that may
 * block on the stream. Commands fail at once while Redis is away (no offline
 * queue): a request never waits on Redis, the gateway carries on with its local
 * store, and both connections keep reconnecting in the background.
 */
export class RedisConnection {
  readonly commands: Client;
  readonly reader: Client;
  private status: TeamConnectionStatus;
  private readonly listeners = new Set<(status: TeamConnectionStatus) => void>();
  private closed = false;

  constructor(
    readonly url: string,
    private readonly logger: Logger,
  ) {
    const options = {
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 2000, reconnectStrategy: reconnectDelay },
    };
    this.commands = createClient(options) as Client;
    this.reader = createClient(options) as Client;
    this.status = { state: 'connecting', url: redactRedisUrl(url), reason: null, since: Date.now() };
    for (const client of [this.commands, this.reader]) {
      // Errors are states here, not crashes: the client reconnects on its own.
      client.on('error', (error: Error) => this.set('down', error.message || String(error)));
    }
    this.commands.on('ready', () => this.set('connected', null));
    this.commands.on('end', () => !this.closed && this.set('down', 'connection closed'));
  }

  get current(): TeamConnectionStatus {
    return this.status;
  }

  get connected(): boolean {
    return this.status.state === 'connected' && this.commands.isReady;
  }

  onChange(listener: (status: TeamConnectionStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(state: TeamState, reason: string | null): void {
    if (this.closed || (this.status.state === state && this.status.reason === reason)) return;
    const was = this.status.state;
    // `since` is when the state began: a new error text during one outage does not restart it.
    this.status = { state, url: this.status.url, reason, since: was === state ? this.status.since : Date.now() };
    if (state === 'down' && was !== 'down')
      this.logger.warn(`team cache unavailable, serving from the local cache only: ${reason}`, { redis: this.status.url });
    if (state === 'connected' && was !== 'connected') this.logger.info('team cache connected', { redis: this.status.url });
    for (const listener of this.listeners) listener(this.status);
  }

  /**
   * Connects both clients. Resolves once the first attempt settles either way: an
   * unreachable Redis leaves the tier down and reconnecting, it does not stop the gateway.
   */
  async connect(firstAttemptMs = 2500): Promise<void> {
    const attempt = (client: Client) =>
      client.connect().then(
        () => undefined,
        (error: Error) => this.set('down', error.message),
      );
    // The client keeps retrying a first connection that fails; start-up waits for it only this long.
    const connecting = Promise.all([attempt(this.commands), attempt(this.reader)]);
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        if (!this.connected) this.set('down', `no answer from ${this.status.url} within ${firstAttemptMs} ms`);
        resolve();
      }, firstAttemptMs);
    });
    await Promise.race([connecting, gaveUp]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await Promise.all(
      [this.commands, this.reader].map(async (client) => {
        try {
          if (client.isOpen) client.destroy();
        } catch {
          // already closed
        }
      }),
    );
  }
}
