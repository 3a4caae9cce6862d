/**
 * Preview harness: plays the extension host in a plain browser.
 *
 *   npx esbuild webview-ui/preview/preview.ts --bundle --outfile=webview-ui/preview/preview.js
 *   open webview-ui/preview/index.html?scenario=normal&tab=entries
 *
 * It sets VS Code's Dark Modern theme variables on :root (VS Code does the same
 * in a real webview), defines a fake `acquireVsCodeApi`, answers the
 * dashboard's requests with fake data and emits a live request every second,
 * then loads the real bundle, ../dist/main.js.
 *
 * Query parameters: scenario = normal | empty | off | error | starting | loading;
 * tab = overview | entries | skipped; banner = 1 shows an error banner;
 * theme = light for VS Code's Light Modern; team = connected (default) | connecting |
 * down | none for the team tier (none: no team configured); judge = blind shows an
 * embedding judge that cannot tell answers apart (nothing learned, nothing served).
 *
 * `previewHost.setTeam('down')` (from the console, or smoke.mjs) changes the team
 * tier's state and pushes fresh stats, as the host would on its next refresh.
 */

import {
  PAGE_SIZE,
  type EntryQueryDto,
  type EntrySummaryDto,
  type GatewayStatusDto,
  type HostToWebview,
  type SkippedRequestDto,
  type StatsWindowDto,
  type WebviewToHost,
} from '../../src/shared/protocol';
import {
  MODELS,
  entryDetail,
  event,
  makeEntries,
  makeTeam,
  makeSkipped,
  makeStats,
  randomOutcome,
  rng,
  type FakeTeamState,
} from './fakeData';

const DARK_MODERN: Record<string, string> = {
  'font-family': '-apple-system, BlinkMacSystemFont, "Segoe WPC", "Segoe UI", "Ubuntu", "Droid Sans", sans-serif',
  'font-size': '13px',
  'font-weight': 'normal',
  'editor-font-family': 'Consolas, "Droid Sans Mono", "DejaVu Sans Mono", monospace',
  'editor-font-size': '12px',
  foreground: '#cccccc',
  descriptionForeground: '#9d9d9d',
  errorForeground: '#f85149',
  focusBorder: '#0078d4',
  'icon-foreground': '#cccccc',
  'editor-background': '#1f1f1f',
  'editor-foreground': '#cccccc',
  'editorWidget-background': '#202020',
  'widget-border': '#313131',
  'panel-background': '#181818',
  'panel-border': '#2b2b2b',
  'sideBar-background': '#181818',
  'button-background': '#0078d4',
  'button-foreground': '#ffffff',
  'button-border': '#ffffff12',
  'button-hoverBackground': '#026ec1',
  'button-secondaryBackground': '#313131',
  'button-secondaryForeground': '#cccccc',
  'button-secondaryHoverBackground': '#3c3c3c',
  'badge-background': '#616161',
  'badge-foreground': '#f8f8f8',
  'activityBarBadge-background': '#0078d4',
  'activityBarBadge-foreground': '#ffffff',
  'input-background': '#313131',
  'input-border': '#3c3c3c',
  'input-foreground': '#cccccc',
  'input-placeholderForeground': '#989898',
  'settings-textInputBackground': '#313131',
  'settings-textInputBorder': '#3c3c3c',
  'settings-textInputForeground': '#cccccc',
  'settings-dropdownBackground': '#313131',
  'settings-dropdownBorder': '#3c3c3c',
  'settings-dropdownForeground': '#cccccc',
  'settings-dropdownListBorder': '#454545',
  'settings-checkboxBackground': '#313131',
  'settings-checkboxBorder': '#3c3c3c',
  'settings-checkboxForeground': '#cccccc',
  'settings-headerBorder': '#2b2b2b',
  'dropdown-background': '#313131',
  'dropdown-border': '#3c3c3c',
  'dropdown-foreground': '#cccccc',
  'dropdown-listBackground': '#1f1f1f',
  'list-hoverBackground': '#2a2d2e',
  'list-activeSelectionBackground': '#04395e',
  'list-activeSelectionForeground': '#ffffff',
  'list-inactiveSelectionBackground': '#37373d',
  'list-focusOutline': '#0078d4',
  'list-highlightForeground': '#2aaaff',
  'panelTitle-activeBorder': '#0078d4',
  'panelTitle-activeForeground': '#cccccc',
  'panelTitle-inactiveForeground': '#9d9d9d',
  'progressBar-background': '#0078d4',
  'toolbar-hoverBackground': '#5a5d5e50',
  'toolbar-activeBackground': '#63666750',
  'textLink-foreground': '#4daafc',
  'textLink-activeForeground': '#4daafc',
  'textCodeBlock-background': '#2b2b2b',
  'textPreformat-foreground': '#d0d0d0',
  'textPreformat-background': '#3c3c3c',
  'inputValidation-errorBackground': '#5a1d1d',
  'inputValidation-errorBorder': '#be1100',
  'inputValidation-warningBackground': '#352a05',
  'inputValidation-warningBorder': '#b89500',
  'editorWarning-foreground': '#cca700',
  'editor-findMatchHighlightBackground': '#ea5c0055',
  'editor-findMatchHighlightBorder': '#00000000',
  'charts-foreground': '#cccccc',
  'charts-lines': '#cccccc80',
  'charts-red': '#f14c4c',
  'charts-blue': '#3794ff',
  'charts-yellow': '#cca700',
  'charts-orange': '#d18616',
  'charts-green': '#89d185',
  'charts-purple': '#b180d7',
  'scrollbarSlider-background': '#79797966',
  'scrollbarSlider-hoverBackground': '#646464b3',
  contrastBorder: 'transparent',
};

const LIGHT_MODERN: Record<string, string> = {
  ...DARK_MODERN,
  foreground: '#3b3b3b',
  descriptionForeground: '#3b3b3b',
  errorForeground: '#f85149',
  'icon-foreground': '#3b3b3b',
  'editor-background': '#ffffff',
  'editor-foreground': '#3b3b3b',
  'editorWidget-background': '#f8f8f8',
  'widget-border': '#e5e5e5',
  'panel-background': '#f8f8f8',
  'panel-border': '#e5e5e5',
  'sideBar-background': '#f8f8f8',
  'button-secondaryBackground': '#e5e5e5',
  'button-secondaryForeground': '#3b3b3b',
  'button-secondaryHoverBackground': '#cccccc',
  'badge-background': '#cccccc',
  'badge-foreground': '#3b3b3b',
  'input-background': '#ffffff',
  'input-border': '#cecece',
  'input-foreground': '#3b3b3b',
  'settings-textInputBackground': '#ffffff',
  'settings-textInputBorder': '#cecece',
  'settings-textInputForeground': '#3b3b3b',
  'settings-dropdownBackground': '#ffffff',
  'settings-dropdownBorder': '#cecece',
  'settings-dropdownForeground': '#3b3b3b',
  'settings-checkboxBackground': '#f8f8f8',
  'settings-checkboxBorder': '#cecece',
  'settings-checkboxForeground': '#3b3b3b',
  'settings-headerBorder': '#e5e5e5',
  'list-hoverBackground': '#f2f2f2',
  'list-activeSelectionBackground': '#e8e8e8',
  'list-activeSelectionForeground': '#000000',
  'list-inactiveSelectionBackground': '#e4e6f1',
  'panelTitle-activeForeground': '#3b3b3b',
  'panelTitle-inactiveForeground': '#3b3b3b',
  'toolbar-hoverBackground': '#b8b8b850',
  'textLink-foreground': '#005fb8',
  'textCodeBlock-background': '#f8f8f8',
  'inputValidation-errorBackground': '#f2dede',
  'inputValidation-errorBorder': '#be1100',
  'editorWarning-foreground': '#bf8803',
  'editor-findMatchHighlightBackground': '#ea5c0055',
  'charts-foreground': '#616161',
  'charts-lines': '#61616180',
  'charts-red': '#e51400',
  'charts-blue': '#1a85ff',
  'charts-yellow': '#bf8803',
  'charts-orange': '#d18616',
  'charts-green': '#388a34',
  'charts-purple': '#652d90',
};

const params = new URLSearchParams(location.search);
const scenario = params.get('scenario') ?? 'normal';
const light = params.get('theme') === 'light';
for (const [name, value] of Object.entries(light ? LIGHT_MODERN : DARK_MODERN))
  document.documentElement.style.setProperty(`--vscode-${name}`, value);
document.body.classList.add(light ? 'vscode-light' : 'vscode-dark');
document.addEventListener('securitypolicyviolation', (e) =>
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`),
);

// ------------------------------------------------------------------ the fake host

const NOW = Date.now();
let entries: EntrySummaryDto[] = scenario === 'empty' ? [] : makeEntries(1234, NOW);
const skipped: SkippedRequestDto[] = scenario === 'empty' ? [] : makeSkipped(87, NOW);
let gateway: GatewayStatusDto =
  scenario === 'off'
    ? { state: 'off', url: null, message: null, owned: false }
    : scenario === 'error'
      ? { state: 'error', url: null, message: 'listen EADDRINUSE: address already in use 127.0.0.1:8787', owned: false }
      : scenario === 'starting'
        ? { state: 'starting', url: 'http://127.0.0.1:8787', message: null, owned: true }
        : { state: 'running', url: 'http://127.0.0.1:8787', message: null, owned: true };
const TEAM_STATES: FakeTeamState[] = ['connected', 'connecting', 'down', 'none'];
let team: FakeTeamState = TEAM_STATES.find((t) => t === params.get('team')) ?? 'connected';
// In this state since: a while for the states a screenshot shows, so durations read naturally.
let teamSince = NOW - (team === 'down' ? 3 * 60_000 : team === 'connecting' ? 4_000 : 2 * 3_600_000);
let statsWindow: StatsWindowDto = '24h';
let lastQuery: EntryQueryDto = { sort: 'created', order: 'desc', offset: 0, limit: PAGE_SIZE };
const r = rng(99);
let nextEventId = 1;

// What the dashboard posts is logged whole (smoke.mjs parses it); what the host sends is cut short.
const log = (dir: '←' | '→', m: unknown): void =>
  console.debug(`[host ${dir}]`, dir === '←' ? JSON.stringify(m) : JSON.stringify(m).slice(0, 200));

function send(message: HostToWebview): void {
  log('→', message);
  window.postMessage(message, '*');
}

const up = (): boolean => gateway.state === 'running' || gateway.state === 'attached';

function sendStats(): void {
  if (!up()) return;
  const now = Date.now();
  const stats = makeStats(statsWindow, now, entries.length, scenario === 'empty', makeTeam(team, teamSince, now));
  if (params.get('judge') === 'blind') {
    stats.semantic.judgeCheck = { pairs: 100, alikeShare: 0.94, tellsApart: false };
    stats.semantic.learned = stats.semantic.learned.map((group) => ({ ...group, observations: 0, wrong: 0, servedFrom: null }));
  }
  send({ type: 'stats/didChange', window: statsWindow, stats });
}

function matches(e: EntrySummaryDto, q: { search?: string; model?: string; endpoint?: string }): boolean {
  if (q.model && e.model !== q.model) return false;
  if (q.endpoint && e.endpoint !== q.endpoint) return false;
  if (q.search) {
    const s = q.search.toLowerCase();
    if (!e.prompt.toLowerCase().includes(s) && !e.answer.toLowerCase().includes(s)) return false;
  }
  return true;
}

function sendEntries(query: EntryQueryDto): void {
  lastQuery = query;
  const key = { created: 'createdAt', lastHit: 'lastHitAt', hits: 'hits', size: 'size' } as const;
  const k = key[query.sort];
  const dir = query.order === 'asc' ? 1 : -1;
  const all = entries.filter((e) => matches(e, query)).sort((a, b) => ((a[k] ?? 0) - (b[k] ?? 0)) * dir);
  send({
    type: 'entries/didLoad',
    query,
    page: { total: all.length, offset: query.offset, items: all.slice(query.offset, query.offset + query.limit) },
  });
}

function handle(m: WebviewToHost): void {
  log('←', m);
  if (scenario === 'loading') return; // a host that never answers: the dashboard keeps its loading state
  switch (m.type) {
    case 'ready':
      setTimeout(() => send({ type: 'gateway/didChange', status: gateway }), 80);
      if (params.get('banner'))
        setTimeout(
          () =>
            send({ type: 'error/show', message: 'Could not evict 2 entries: the gateway answered 503 (database is locked). Try again.' }),
          300,
        );
      return;
    case 'stats/request':
      statsWindow = m.window;
      setTimeout(sendStats, 120);
      return;
    case 'entries/request':
      setTimeout(() => sendEntries(m.query), 90);
      return;
    case 'entry/request': {
      const e = entries.find((x) => x.id === m.id);
      if (e) setTimeout(() => send({ type: 'entry/didLoad', entry: entryDetail(e) }), 150);
      else send({ type: 'error/show', message: `Entry ${m.id} no longer exists.` });
      return;
    }
    case 'entries/evict':
      entries = entries.filter((e) => !m.ids.includes(e.id));
      setTimeout(() => sendEntries(lastQuery), 60);
      return;
    case 'entries/evictMatching':
      entries = entries.filter((e) => !matches(e, m.filter));
      setTimeout(() => sendEntries({ ...lastQuery, offset: 0 }), 60);
      return;
    case 'entries/clear':
      if (confirm('Evict every entry from the Deja cache?')) {
        entries = [];
        sendEntries({ ...lastQuery, offset: 0 });
        sendStats();
      }
      return;
    case 'skipped/request': {
      const all = skipped.filter((s) => m.reason === null || s.reason === m.reason);
      setTimeout(
        () =>
          send({
            type: 'skipped/didLoad',
            reason: m.reason,
            page: { total: all.length, offset: m.offset, items: all.slice(m.offset, m.offset + m.limit) },
          }),
        100,
      );
      return;
    }
    case 'gateway/start':
      gateway = { state: 'starting', url: null, message: null, owned: true };
      send({ type: 'gateway/didChange', status: gateway });
      setTimeout(() => {
        gateway = { state: 'running', url: 'http://127.0.0.1:8787', message: null, owned: true };
        send({ type: 'gateway/didChange', status: gateway });
      }, 900);
      return;
  }
}

// Live requests every second; stats again every ten. While the team tier is connected,
// every third hit came from it (so one shows within seconds); otherwise hits are local.
let hitCount = 0;
setInterval(() => {
  if (!up() || scenario === 'empty' || scenario === 'loading') return;
  const outcome = randomOutcome(r);
  const hit = outcome === 'HIT' || outcome === 'SEMANTIC_HIT';
  const tier = !hit || team === 'none' ? null : team === 'connected' && hitCount++ % 3 === 1 ? 'team' : 'local';
  send({ type: 'live/request', event: event(nextEventId++, Date.now(), MODELS[Math.floor(r() * MODELS.length)]!, outcome, r, tier) });
}, 1000);
setInterval(sendStats, 10_000);

declare global {
  var previewHost: { setTeam(state: FakeTeamState): void };
}
globalThis.previewHost = {
  setTeam(state) {
    if (state !== team) teamSince = Date.now();
    team = state;
    sendStats();
  },
};

// ------------------------------------------------------------------ the VS Code API, then the real bundle

const initialTab = params.get('tab');
let state: unknown = initialTab ? { tab: initialTab } : undefined;
globalThis.acquireVsCodeApi = () => ({
  postMessage: (message: unknown) => setTimeout(() => handle(message as WebviewToHost), 0),
  getState: () => state,
  setState: <T>(next: T): T => {
    state = next;
    return next;
  },
});

const script = document.createElement('script');
script.nonce = document.currentScript?.nonce ?? '';
script.src = '../dist/main.js';
document.body.append(script);
