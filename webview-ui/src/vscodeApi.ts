/**
 * The one place that talks to the extension host. Inside VS Code it wraps
 * `acquireVsCodeApi()` (which may be called only once per webview); in a plain
 * browser it falls back to `window.parent.postMessage` so a preview harness
 * hosting the page in an iframe can play the host.
 */

import type { EntryQueryDto, EntrySort, HostToWebview, StatsWindowDto, WebviewToHost } from '../../src/shared/protocol';
import { isStatsWindow } from './format';

export type TabId = 'overview' | 'entries' | 'skipped';
export const TABS: TabId[] = ['overview', 'entries', 'skipped'];

/** What survives the webview being hidden and shown again (VS Code keeps it across reloads of the panel). */
export interface PersistedState {
  tab: TabId;
  window: StatsWindowDto;
  entries: EntryQueryDto;
  skippedReason: string | null;
}

export const PAGE_SIZE = 50;

export const DEFAULT_STATE: PersistedState = {
  tab: 'overview',
  window: '24h',
  entries: { sort: 'created', order: 'desc', offset: 0, limit: PAGE_SIZE },
  skippedReason: null,
};

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState<T>(state: T): T;
}

declare global {
  // Defined by VS Code's webview preload script (and by the preview harness).
  // eslint-disable-next-line no-var
  var acquireVsCodeApi: (() => VsCodeApi) | undefined;
}

/** The host types the dashboard understands; anything else on the message channel is ignored. */
const HOST_TYPES = new Set<HostToWebview['type']>(['gateway/didChange', 'stats/didChange', 'entries/didLoad', 'entry/didLoad', 'skipped/didLoad', 'live/request', 'error/show']);

function createApi(): VsCodeApi {
  if (typeof globalThis.acquireVsCodeApi === 'function') return globalThis.acquireVsCodeApi();
  // A plain browser: the page's parent plays the host; state lives for the page's lifetime.
  let state: unknown;
  return {
    postMessage(message) {
      if (window.parent !== window) window.parent.postMessage(message, '*');
      else console.warn('[deja] no host to post to', message);
    },
    getState: () => state,
    setState<T>(next: T): T {
      state = next;
      return next;
    },
  };
}

const api = createApi();

export function post(message: WebviewToHost): void {
  api.postMessage(message);
}

/** Calls `handler` for every message from the host; returns a function that stops listening. */
export function onMessage(handler: (message: HostToWebview) => void): () => void {
  const listener = (event: MessageEvent<unknown>): void => {
    const data = event.data;
    if (typeof data !== 'object' || data === null) return;
    const type = (data as { type?: unknown }).type;
    if (typeof type !== 'string' || !HOST_TYPES.has(type as HostToWebview['type'])) return;
    handler(data as HostToWebview);
  };
  window.addEventListener('message', listener);
  return () => window.removeEventListener('message', listener);
}

const SORTS: EntrySort[] = ['created', 'lastHit', 'hits', 'size'];

/** The saved state, validated: anything missing or malformed falls back to the defaults. */
export function getState(): PersistedState {
  const raw = api.getState() as Partial<PersistedState> | null | undefined;
  if (!raw || typeof raw !== 'object') return structuredClone(DEFAULT_STATE);
  const e = (raw.entries ?? {}) as Partial<EntryQueryDto>;
  const entries: EntryQueryDto = {
    sort: SORTS.includes(e.sort as EntrySort) ? (e.sort as EntrySort) : DEFAULT_STATE.entries.sort,
    order: e.order === 'asc' ? 'asc' : 'desc',
    offset: typeof e.offset === 'number' && e.offset >= 0 ? Math.floor(e.offset) : 0,
    limit: PAGE_SIZE,
  };
  if (typeof e.search === 'string' && e.search !== '') entries.search = e.search;
  if (typeof e.model === 'string' && e.model !== '') entries.model = e.model;
  if (e.endpoint === 'chat.completions' || e.endpoint === 'completions' || e.endpoint === 'embeddings') entries.endpoint = e.endpoint;
  return {
    tab: TABS.includes(raw.tab as TabId) ? (raw.tab as TabId) : DEFAULT_STATE.tab,
    window: isStatsWindow(raw.window) ? raw.window : DEFAULT_STATE.window,
    entries,
    skippedReason: typeof raw.skippedReason === 'string' ? raw.skippedReason : null,
  };
}

let saved: PersistedState | undefined;

/** Merges `patch` into the saved state. */
export function setState(patch: Partial<PersistedState>): void {
  saved = { ...(saved ?? getState()), ...patch };
  api.setState(saved);
}
