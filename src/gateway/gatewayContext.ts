import type { EventLog } from '../core/events/eventLog';
import type { LlmCache } from '../core/llmCache';
import type { Logger } from '../core/logger';
import type { AnswerJudge } from '../core/semantic/judge/answerJudge';
import type { GatewayOptions } from '../core/options';
import type { Policy } from '../core/policy/policy';
import type { TeamTier } from '../core/team/teamTier';
import type { PrefixStabilityTracker } from '../core/prefixStability';
import type { Flight } from './flight';
import type { LiveEvents } from './liveEvents';
import type { GatewayMetrics } from './promMetrics';
import type { Revalidator } from './revalidator';
import type { Upstream } from './upstream';
import type { VllmScraper } from './vllmScraper';

/** What the routes share: built once by startGateway, passed to every route. */
export interface GatewayContext {
  options: GatewayOptions;
  cache: LlmCache;
  /** The team tier, when `--shared-store` names one. */
  team: TeamTier | undefined;
  upstream: Upstream;
  logger: Logger;
  /** Upstream exchanges in progress, by exact key, for identical requests to join. */
  flights: Map<string, Flight>;
  startedAt: number;
  policy: Policy;
  events: EventLog;
  prefixStability: PrefixStabilityTracker;
  vllm: VllmScraper;
  metrics: GatewayMetrics;
  revalidator: Revalidator;
  /** Judges a stored answer against the upstream's (explorations, rechecks of semantic hits). */
  judge: AnswerJudge;
  live: LiveEvents;
  /** Required by the admin API; written owner-only to the data directory. */
  adminToken: string;
}
