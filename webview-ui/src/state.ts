/**
 * What the dashboard saves across being hidden and shown again (VS Code keeps it
 * across reloads of the panel), and how a saved value is read back: anything
 * missing or malformed falls back to the defaults, since an older dashboard may
 * have written it.
 */

import {
  ENDPOINTS,
  ENTRY_SORTS,
  PAGE_SIZE,
  SKIP_REASONS,
  type EntryQueryDto,
  type SkipReasonDto,
  type StatsWindowDto,
} from '../../src/shared/protocol';
import { isStatsWindow } from './format';

export const TABS = ['overview', 'entries', 'skipped'] as const;
export type TabId = (typeof TABS)[number];

export interface PersistedState {
  tab: TabId;
  window: StatsWindowDto;
  entries: EntryQueryDto;
  skippedReason: SkipReasonDto | null;
}

export const DEFAULT_STATE: PersistedState = {
  tab: 'overview',
  window: '24h',
  entries: { sort: 'created', order: 'desc', offset: 0, limit: PAGE_SIZE },
  skippedReason: null,
};

const isOneOf = <T extends string>(values: readonly T[], value: unknown): value is T => (values as readonly unknown[]).includes(value);

/** The saved state, validated. */
export function parseState(saved: unknown): PersistedState {
  if (!saved || typeof saved !== 'object') return structuredClone(DEFAULT_STATE);
  const raw = saved as Partial<Record<keyof PersistedState, unknown>>;
  const e = (raw.entries ?? {}) as Partial<Record<keyof EntryQueryDto, unknown>>;
  const entries: EntryQueryDto = {
    sort: isOneOf(ENTRY_SORTS, e.sort) ? e.sort : DEFAULT_STATE.entries.sort,
    order: e.order === 'asc' ? 'asc' : 'desc',
    offset: typeof e.offset === 'number' && e.offset >= 0 ? Math.floor(e.offset) : 0,
    limit: PAGE_SIZE,
  };
  if (typeof e.search === 'string' && e.search !== '') entries.search = e.search;
  if (typeof e.model === 'string' && e.model !== '') entries.model = e.model;
  if (isOneOf(ENDPOINTS, e.endpoint)) entries.endpoint = e.endpoint;
  return {
    tab: isOneOf(TABS, raw.tab) ? raw.tab : DEFAULT_STATE.tab,
    window: isStatsWindow(raw.window) ? raw.window : DEFAULT_STATE.window,
    entries,
    skippedReason: isOneOf(SKIP_REASONS, raw.skippedReason) ? raw.skippedReason : null,
  };
}
