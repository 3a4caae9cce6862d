import type { LlmCache } from '../core/llmCache';
import type { Logger } from '../core/logger';
import type { GatewayOptions } from '../core/options';
import type { Flight } from './flight';
import type { Upstream } from './upstream';

/** What the routes share: built once by createApp's caller, passed to every route. */
export interface GatewayContext {
  options: GatewayOptions;
  cache: LlmCache;
  upstream: Upstream;
  logger: Logger;
  /** Upstream exchanges in progress, by exact key, for identical requests to join. */
  flights: Map<string, Flight>;
  startedAt: number;
}
