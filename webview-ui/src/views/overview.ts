/**
 * The Overview tab: everything from `stats/didChange`, plus the live feed
 * (which it only hosts; the feed keeps its own rows across re-renders).
 */

import type {
  DevToolDto,
  GatewayStatusDto,
  LatencyDto,
  Maybe,
  PrefixStabilityDto,
  TeamStatusDto,
  StatsDto,
  StatsWindowDto,
  VolatileUserPartsDto,
} from '../../../src/shared/protocol';
import { reasonColor } from '../components/badges';
import { TimelineChart, sparkline } from '../components/chart';
import type { LiveFeed } from '../components/liveFeed';
import { h, icon, type Child } from '../dom';
import { DASH, WINDOWS, compactCount, count, dateTime, duration, humanize, ms, percent, ratio, relative } from '../format';

function card(title: string, options: { id: string; className?: string; action?: Child }, ...children: Child[]): HTMLElement {
  return h(
    'section',
    { class: `card ${options.className ?? ''}`, 'aria-labelledby': options.id },
    h('div', { class: 'card-head' }, h('h2', { id: options.id, class: 'card-title' }, title), options.action ?? null),
    ...children,
  );
}

/** A definition list of label/value rows. */
function facts(rows: Array<[string, Child, string?]>): HTMLDListElement {
  const dl = h('dl', { class: 'facts' });
  for (const [label, value, title] of rows) dl.append(h('dt', {}, label), h('dd', { title }, value));
  return dl;
}

function big(value: string, label: string, className = ''): HTMLDivElement {
  return h('div', { class: `big ${className}` }, h('div', { class: 'big-value' }, value), h('div', { class: 'big-label' }, label));
}

function windowLabel(window: StatsWindowDto): string {
  return (WINDOWS.find((w) => w.value === window)?.label ?? window).toLowerCase();
}

/** A 0..1 value that may be unavailable: the reason, never a zero. */
function maybeRate(value: Maybe<number>): Child {
  if (value.available) return percent(value.value);
  return h('span', { class: 'unavailable' }, h('span', { class: 'muted' }, 'Unavailable'), h('span', { class: 'reason' }, value.reason));
}

function speedup(hits: LatencyDto, misses: LatencyDto, key: 'p50' | 'p99'): number | null {
  const hit = hits[key];
  const miss = misses[key];
  return hit !== null && miss !== null && hit > 0 ? miss / hit : null;
}

/** A horizontal bar, width set through the CSSOM (allowed under the webview's CSP). */
function bar(share: number, className: string, color?: string): HTMLDivElement {
  const fill = h('div', { class: `bar-fill ${className}` });
  fill.style.width = `${Math.max(0, Math.min(1, share)) * 100}%`;
  if (color) fill.style.setProperty('--badge-color', color);
  return h('div', { class: 'bar', 'aria-hidden': 'true' }, fill);
}

/** How the dashboard names each recognised tool. */
const TOOL_NAMES: Record<DevToolDto, string> = {
  cline: 'Cline',
  'roo-code': 'Roo Code',
  continue: 'Continue',
  aider: 'aider',
  openhands: 'OpenHands',
  tabby: 'Tabby',
  twinny: 'twinny',
  cody: 'Cody',
  'openai-sdk': 'OpenAI SDK script',
  unknown: 'Other',
};

const TEAM_STATE: Record<TeamStatusDto['state'], string> = { connected: 'Connected', connecting: 'Connecting', down: 'Down' };

/** "● Connected for 2 h", colored by state; the exact time in the tooltip. */
function teamState(team: TeamStatusDto): HTMLElement {
  const label = TEAM_STATE[team.state] ?? team.state;
  const span = Date.now() - team.since;
  return h(
    'span',
    { class: `team-state ${team.state}`, title: `${label} since ${dateTime(team.since)}` },
    h('span', { class: `dot team-${team.state}`, 'aria-hidden': 'true' }),
    span < 5_000 ? `${label} just now` : `${label} for ${duration(span)}`,
  );
}

export class OverviewView {
  readonly element: HTMLDivElement;
  private readonly chart = new TimelineChart();

  constructor(private readonly live: LiveFeed) {
    this.element = h('div', { class: 'overview' });
  }

  /** Replaces the content: used for the loading state before the first stats. */
  showPlaceholder(node: Node): void {
    this.element.replaceChildren(node);
  }

  update(stats: StatsDto, window: StatsWindowDto, gateway: GatewayStatusDto | null): void {
    if (stats.requests === 0) {
      const team = this.teamCard(stats, window);
      this.element.replaceChildren(
        this.emptyState(stats, window, gateway),
        h(
          'div',
          { class: 'row-main' },
          team ? h('div', { class: 'stack' }, this.cacheCard(stats), team) : this.cacheCard(stats),
          this.live.element,
        ),
      );
      return;
    }
    const warning = this.prefixWarning(stats.prefixStability, stats.volatileUserParts);
    this.chart.update(stats.timeline, stats.window);
    this.element.replaceChildren(
      ...(warning ? [warning] : []),
      this.kpis(stats),
      h(
        'div',
        { class: 'row-main' },
        card(
          'Hit rate over time',
          {
            id: 'timeline-title',
            className: 'timeline',
            action: h('span', { class: 'muted' }, `${windowLabel(window)} · ${stats.timeline.length} intervals`),
          },
          this.chart.element,
        ),
        this.live.element,
      ),
      h('div', { class: 'cards' }, this.latencyCard(stats), this.semanticCard(stats), this.stalenessCard(stats), this.vllmCard(stats)),
      // The cache and team cards join the wider rows: the model's name and the team's URL need the room, and a fifth narrow card would squeeze the four above.
      h(
        'div',
        { class: 'cards two' },
        this.cacheCard(stats),
        this.modelsCard(stats),
        this.toolsCard(stats),
        this.reasonsCard(stats),
        this.teamCard(stats, window),
      ),
    );
  }

  private emptyState(stats: StatsDto, window: StatsWindowDto, gateway: GatewayStatusDto | null): HTMLElement {
    const base = gateway?.url ? `${gateway.url.replace(/\/+$/, '')}/v1` : null;
    const title = stats.cache.entries > 0 ? `No requests in the ${windowLabel(window)}.` : 'No requests yet.';
    return h(
      'section',
      { class: 'card empty-state', 'aria-labelledby': 'empty-title' },
      icon('inbox'),
      h('h2', { id: 'empty-title' }, title),
      h(
        'p',
        {},
        'Point any OpenAI-compatible tool at ',
        base ? h('code', {}, base) : h('span', { class: 'muted' }, 'the gateway URL (shown once it is running)'),
        '. Repeated questions will be answered from the cache.',
      ),
      base ? h('pre', { class: 'snippet' }, `export OPENAI_BASE_URL=${base}\nexport OPENAI_API_KEY=anything`) : null,
      h('p', { class: 'muted' }, 'Requests appear in the live feed as they arrive; these numbers refresh on their own.'),
    );
  }

  private prefixWarning(rows: PrefixStabilityDto[], userParts: VolatileUserPartsDto[]): HTMLElement | null {
    const volatile = rows.filter((r) => r.volatile);
    if (volatile.length === 0 && userParts.length === 0) return null;
    const badges = (kinds: string[]) => kinds.map((k) => h('vscode-badge', { class: 'badge kind' }, k));
    const systemList =
      volatile.length === 0
        ? null
        : h(
            'ul',
            { class: 'prefix-list' },
            ...volatile.map((r) =>
              h(
                'li',
                {},
                h(
                  'div',
                  { class: 'prefix-line' },
                  h('strong', {}, r.model),
                  h('span', { class: 'muted' }, TOOL_NAMES[r.tool] ?? r.tool),
                  h(
                    'span',
                    {},
                    `${count(r.distinct)} distinct system prompts, ${count(r.templates)} ${r.templates === 1 ? 'template' : 'templates'}`,
                  ),
                  ...badges(r.volatileKinds),
                ),
                h('code', { class: 'prefix-example', title: r.example }, r.example),
              ),
            ),
          );
    const userList =
      userParts.length === 0
        ? null
        : h(
            'ul',
            { class: 'prefix-list user-parts' },
            ...userParts.map((r) =>
              h(
                'li',
                {},
                h(
                  'div',
                  { class: 'prefix-line' },
                  h('strong', {}, TOOL_NAMES[r.tool] ?? r.tool),
                  h('span', { class: 'mono muted' }, r.model),
                  h(
                    'span',
                    {},
                    `${count(r.withVolatile)} of ${count(r.requests)} requests carry values that change every session in their user messages`,
                  ),
                  ...badges(r.volatileKinds),
                ),
                h('code', { class: 'prefix-example', title: r.example }, r.example),
              ),
            ),
          );
    return h(
      'section',
      { class: `callout ${volatile.length ? 'warning' : 'info'}`, role: 'note', 'aria-labelledby': 'prefix-title' },
      icon(volatile.length ? 'warning' : 'info'),
      h(
        'div',
        { class: 'callout-body' },
        h(
          'h2',
          { id: 'prefix-title', class: 'callout-title' },
          volatile.length ? 'Unstable system prompts are defeating vLLM’s prefix cache' : 'Tools put the clock in their prompts',
        ),
        volatile.length
          ? h(
              'p',
              { class: 'muted' },
              'These prompts differ only by volatile parts (timestamps, ids…), so every request recomputes the whole prefix. Move the volatile parts to the end of the prompt, or drop them.',
            )
          : null,
        systemList,
        userList
          ? h(
              'p',
              { class: 'muted' },
              'These tools write the time, the task’s cost or a runtime’s ports into the messages they send. Deja masks them in its cache keys, so a later session still hits; vLLM’s prefix cache sees a new prompt from the first changed value on.',
            )
          : null,
        userList,
      ),
    );
  }

  private kpis(s: StatsDto): HTMLElement {
    const hits = s.exactHits + s.semanticHits;
    const p50 = speedup(s.latency.hits, s.latency.misses, 'p50');
    const tokens = s.savings.promptTokensSaved + s.savings.completionTokensSaved;
    return h(
      'div',
      { class: 'kpis' },
      h(
        'section',
        { class: 'card kpi hit-rate', 'aria-label': 'Hit rate' },
        h('div', { class: 'card-title' }, 'Hit rate'),
        h(
          'div',
          { class: 'bigs' },
          big(percent(s.hitRate), 'overall', 'primary'),
          big(percent(s.exactHitRate), 'exact', 'exact'),
          big(percent(s.semanticHitRate), 'semantic', 'semantic'),
        ),
        s.shared
          ? h(
              'div',
              { class: 'kpi-sub team-share' },
              icon('organization'),
              ` ${count(s.teamHits)} hits${hits ? ` (${percent(s.teamHits / hits)})` : ''} answered from the team cache`,
            )
          : null,
      ),
      h(
        'section',
        { class: 'card kpi', 'aria-label': 'Requests' },
        h('div', { class: 'card-title' }, 'Requests'),
        h('div', { class: 'kpi-value' }, count(s.requests)),
        h(
          'div',
          { class: 'kpi-sub' },
          `${count(hits)} hits · ${count(s.misses)} misses · ${count(s.skipped)} skipped${s.bypassed ? ` · ${count(s.bypassed)} bypassed` : ''}`,
        ),
      ),
      h(
        'section',
        { class: 'card kpi', 'aria-label': 'Savings' },
        h('div', { class: 'card-title' }, 'Not sent to inference'),
        h('div', { class: 'kpi-value' }, percent(s.savings.requestsNotSent)),
        h(
          'div',
          {
            class: 'kpi-sub',
            title: `${count(s.savings.promptTokensSaved)} prompt + ${count(s.savings.completionTokensSaved)} completion tokens`,
          },
          `${compactCount(tokens)} tokens saved (${compactCount(s.savings.promptTokensSaved)} prompt + ${compactCount(s.savings.completionTokensSaved)} completion)`,
        ),
      ),
      h(
        'section',
        { class: 'card kpi', 'aria-label': 'Latency' },
        h('div', { class: 'card-title' }, 'Faster with cache'),
        h('div', { class: 'kpi-value' }, ratio(p50)),
        h('div', { class: 'kpi-sub' }, `p50 ${ms(s.latency.hits.p50)} on hits vs ${ms(s.latency.misses.p50)} on misses`),
      ),
      h(
        'section',
        { class: 'card kpi', 'aria-label': 'Cache' },
        h('div', { class: 'card-title' }, 'Cache entries'),
        h('div', { class: 'kpi-value' }, count(s.cache.entries)),
        h(
          'div',
          { class: 'kpi-sub' },
          s.cache.caching
            ? h('span', { class: 'ok' }, icon('check'), ' Caching on')
            : h('span', { class: 'warn' }, icon('circle-slash'), ' Caching off'),
          s.cache.vectors !== null ? ` · ${count(s.cache.vectors)} vectors` : '',
        ),
      ),
    );
  }

  private latencyCard(s: StatsDto): HTMLElement {
    const { hits, misses } = s.latency;
    const row = (label: string, l: LatencyDto, cls: string): HTMLTableRowElement =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, h('i', { class: `swatch ${cls}` }), label),
        h('td', {}, ms(l.p50)),
        h('td', {}, ms(l.p99)),
        h('td', { class: 'muted' }, count(l.count)),
      );
    return card(
      'Latency with vs without cache',
      { id: 'latency-title' },
      h(
        'table',
        { class: 'mini-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, h('span', { class: 'sr-only' }, 'Outcome')),
            h('th', { scope: 'col' }, 'p50'),
            h('th', { scope: 'col' }, 'p99'),
            h('th', { scope: 'col' }, 'requests'),
          ),
        ),
        h(
          'tbody',
          {},
          row('Hits', hits, 'exact'),
          row('Misses', misses, 'other'),
          h(
            'tr',
            { class: 'ratio-row' },
            h('th', { scope: 'row' }, 'Speed-up'),
            h('td', {}, ratio(speedup(hits, misses, 'p50'))),
            h('td', {}, ratio(speedup(hits, misses, 'p99'))),
            h('td', {}),
          ),
        ),
      ),
      h('p', { class: 'footnote' }, 'From a request’s arrival to the end of its response.'),
    );
  }

  /**
   * How often semantic hits were the wrong answer, measured: rechecked hits judged against the
   * upstream's own answer, with the 95% upper bound, beside the bound the user set.
   */
  private semanticCard(s: StatsDto): HTMLElement {
    const { judged, falseHits, falseHitRate, falseHitInterval, explorations } = s.semanticChecks;
    const verified = s.semantic.mode === 'verified';
    const bound = s.semantic.maxFalseHitRate;
    const within = falseHitInterval !== null && falseHitInterval.high <= bound;
    const over = falseHitInterval !== null && falseHitInterval.low > bound;
    const judgeCost = s.semantic.judgeCost;
    return card(
      'Wrong answers from semantic hits',
      { id: 'semantic-title', className: 'semantic-card' },
      h(
        'div',
        {
          class: 'kpi-value small',
          title: judged ? `${count(falseHits)} of ${count(judged)} rechecked semantic hits were wrong` : undefined,
        },
        percent(falseHitRate),
        falseHitInterval
          ? h('span', { class: `interval ${over ? 'error' : within ? 'ok' : 'muted'}` }, ` 95% ≤ ${percent(falseHitInterval.high)}`)
          : null,
      ),
      facts([
        [verified ? 'Bound (δ)' : 'Mode', verified ? percent(bound) : `static, similarity ≥ ${s.semantic.threshold.toFixed(2)}`],
        ['Rechecked hits', count(judged), 'Semantic hits asked again upstream and judged (the revalidation share)'],
        ['Found wrong', count(falseHits)],
        ...(verified
          ? ([
              ['Explorations', count(explorations), 'Requests forwarded to learn whether the nearest answer would have been right'],
              [
                'Served from',
                servedFrom(s.semantic.learned),
                'The similarity from which semantic hits are served, learned from every observation kept (a test needs at least the number shown, all right)',
              ],
            ] as Array<[string, Child, string?]>)
          : []),
        [
          'Judge',
          judgeLabel(s.semantic),
          judgeCost
            ? `${count(judgeCost.calls)} calls, ${count(judgeCost.promptTokens + judgeCost.completionTokens)} tokens, ${count(judgeCost.failures)} without a verdict`
            : undefined,
        ],
      ]),
      h(
        'p',
        { class: 'footnote' },
        s.semantic.judgeCheck?.tellsApart === false
          ? `The embedding model cannot tell answers apart (${percent(s.semantic.judgeCheck.alikeShare)} of unrelated answers look the same to it), so nothing is learned and nothing served: use --answer-judge exact or llm, or another model.`
          : judged === 0
            ? 'No semantic hit has been rechecked in this window yet.'
            : over
              ? 'Measured above the bound: check the judge and the embedding model.'
              : verified
                ? 'Served only from a similarity where the answers checked so far show, with 95% confidence, a chance of a wrong one below the bound.'
                : 'The static threshold promises no rate; this is what was measured.',
      ),
    );
  }

  private stalenessCard(s: StatsDto): HTMLElement {
    const { revalidated, stale, rate } = s.staleness;
    return card(
      'Staleness',
      { id: 'staleness-title' },
      h('div', { class: 'kpi-value small' }, percent(rate)),
      facts([
        ['Revalidated hits', count(revalidated)],
        ['Found stale', count(stale)],
      ]),
      h(
        'p',
        { class: 'footnote' },
        revalidated === 0
          ? 'No hit has been rechecked upstream in this window yet.'
          : 'A share of hits is asked again upstream; stale ones are replaced.',
      ),
    );
  }

  private vllmCard(s: StatsDto): HTMLElement {
    const v = s.vllm;
    const history = v.history.map((p) => p.prefixCacheHitRate);
    const hasHistory = history.filter((x) => x !== null).length > 1;
    const scraped = v.scrapedAt !== null ? `Scraped ${relative(v.scrapedAt)}` : 'Not scraped yet';
    return card(
      'vLLM',
      { id: 'vllm-title', action: h('span', { class: 'muted', title: `Metric names: ${v.naming}` }, scraped) },
      facts([
        ['Prefix-cache hit rate', maybeRate(v.prefixCacheHitRate), 'Over the last scrape interval'],
        ['Since server start', maybeRate(v.prefixCacheHitRateTotal)],
        ['KV-cache usage', maybeRate(v.kvCacheUsage)],
      ]),
      hasHistory
        ? h(
            'div',
            { class: 'spark' },
            sparkline(history, 'Prefix-cache hit rate history'),
            h('span', { class: 'muted' }, 'prefix-cache hit rate'),
          )
        : null,
    );
  }

  private cacheCard(s: StatsDto): HTMLElement {
    const sem = s.semantic;
    const stateClass = sem.state === 'ready' ? 'ok' : sem.state === 'failed' ? 'error' : sem.state === 'loading' ? 'warn' : 'muted';
    return card(
      'Cache',
      { id: 'cache-title' },
      facts([
        ['Caching', s.cache.caching ? h('span', { class: 'ok' }, 'On') : h('span', { class: 'warn' }, 'Off')],
        ['Entries', count(s.cache.entries)],
        ['Semantic level', h('span', { class: stateClass }, humanize(sem.state))],
        ...(sem.reason
          ? ([['Why', h('span', { class: sem.state === 'failed' ? 'error' : 'muted' }, sem.reason)]] as Array<[string, Child]>)
          : []),
        [
          'Semantic hits',
          sem.mode === 'verified'
            ? `verified, ≤ ${percent(sem.maxFalseHitRate)} wrong`
            : `static, similarity ≥ ${sem.threshold.toFixed(2)}`,
        ],
        ['Embedding model', h('span', { class: 'mono', title: sem.model }, sem.model || DASH)],
        ['Vectors', count(s.cache.vectors)],
      ]),
    );
  }

  /** The team tier (a shared Redis); nothing at all when none is configured. */
  private teamCard(s: StatsDto, window: StatsWindowDto): HTMLElement | null {
    const team = s.shared;
    if (!team) return null;
    const hits = s.exactHits + s.semanticHits;
    return card(
      'Team cache',
      { id: 'team-title', className: 'team-card', action: teamState(team) },
      h(
        'div',
        { class: 'team-hits', title: `Hits (exact or semantic) answered from the team tier in the ${windowLabel(window)}` },
        h('span', { class: 'kpi-value small' }, count(s.teamHits)),
        h('span', { class: 'muted' }, hits ? `team hits · ${percent(s.teamHits / hits)} of all hits` : 'team hits'),
      ),
      facts([
        ['Team', team.team],
        ['Redis', h('span', { class: 'mono team-url' }, team.url), team.url],
        ...(team.state === 'down' ? ([['Why', h('span', { class: 'warn' }, team.reason ?? 'No answer')]] as Array<[string, Child]>) : []),
        ['Updates from team', count(team.applied), 'What other gateways stored or evicted, applied here since this gateway started'],
        ['Last update', relative(team.lastAppliedAt), team.lastAppliedAt !== null ? dateTime(team.lastAppliedAt) : undefined],
      ]),
    );
  }

  private modelsCard(s: StatsDto): HTMLElement {
    const rows = [...s.byModel].sort((a, b) => b.requests - a.requests);
    const max = Math.max(1, ...rows.map((r) => r.requests));
    return card(
      'Requests by model',
      { id: 'models-title' },
      rows.length === 0
        ? h('p', { class: 'muted' }, 'No requests.')
        : h(
            'table',
            { class: 'mini-table models' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { scope: 'col' }, 'Model'),
                h('th', { scope: 'col', class: 'num' }, 'Requests'),
                h('th', { scope: 'col', class: 'num' }, 'Hits'),
                h('th', { scope: 'col', class: 'num' }, 'Hit rate'),
              ),
            ),
            h(
              'tbody',
              {},
              ...rows.map((r) =>
                h(
                  'tr',
                  {},
                  h(
                    'td',
                    { class: 'model-cell' },
                    h('span', { class: 'mono', title: r.model }, r.model),
                    bar(r.requests / max, 'requests'),
                  ),
                  h('td', { class: 'num' }, count(r.requests)),
                  h('td', { class: 'num' }, count(r.hits)),
                  h('td', { class: 'num' }, percent(r.hitRate)),
                ),
              ),
            ),
          ),
    );
  }

  /** Which dev tools sent the requests (recognised from their request shapes), with each one's hit rate and skips. */
  private toolsCard(s: StatsDto): HTMLElement {
    const rows = s.byTool;
    const max = Math.max(1, ...rows.map((r) => r.requests));
    const topReason = (reasons: Record<string, number>): string => {
      const [reason] = Object.entries(reasons).sort((a, b) => b[1] - a[1])[0] ?? [];
      return reason ? humanize(reason).toLowerCase() : '';
    };
    return card(
      'Requests by tool',
      { id: 'tools-title' },
      rows.length === 0
        ? h('p', { class: 'muted' }, 'No requests.')
        : h(
            'table',
            { class: 'mini-table models tools' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { scope: 'col' }, 'Tool'),
                h('th', { scope: 'col', class: 'num' }, 'Requests'),
                h('th', { scope: 'col', class: 'num' }, 'Hit rate'),
                h('th', { scope: 'col', class: 'num' }, 'Skipped'),
              ),
            ),
            h(
              'tbody',
              {},
              ...rows.map((r) =>
                h(
                  'tr',
                  {},
                  h(
                    'td',
                    { class: 'model-cell' },
                    h('span', { title: r.tool }, TOOL_NAMES[r.tool] ?? r.tool),
                    bar(r.requests / max, 'requests'),
                  ),
                  h('td', { class: 'num' }, count(r.requests)),
                  h('td', { class: 'num' }, percent(r.hitRate)),
                  h(
                    'td',
                    {
                      class: 'num',
                      title:
                        Object.entries(r.skippedByReason)
                          .map(([reason, n]) => `${humanize(reason)}: ${count(n)}`)
                          .join('\n') || undefined,
                    },
                    count(r.skipped),
                    r.skipped ? h('span', { class: 'muted' }, ` ${topReason(r.skippedByReason)}`) : null,
                  ),
                ),
              ),
            ),
          ),
      h('p', { class: 'footnote' }, 'Recognised from each request’s shape and its client’s headers.'),
    );
  }

  private reasonsCard(s: StatsDto): HTMLElement {
    const rows = Object.entries(s.skippedByReason)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]);
    const total = rows.reduce((sum, [, n]) => sum + n, 0);
    return card(
      'Skipped by reason',
      { id: 'reasons-title', action: h('span', { class: 'muted' }, `${count(s.skipped)} skipped`) },
      rows.length === 0
        ? h('p', { class: 'muted' }, 'Nothing was skipped in this window.')
        : h(
            'ul',
            { class: 'reason-bars' },
            ...rows.map(([reason, n]) =>
              h(
                'li',
                {},
                h('span', { class: 'reason-name' }, humanize(reason)),
                bar(n / Math.max(1, rows[0]?.[1] ?? 1), `reason-${reason}`, reasonColor(reason)),
                h('span', { class: 'num' }, count(n)),
                h('span', { class: 'muted num' }, percent(total ? n / total : null, 0)),
              ),
            ),
          ),
    );
  }
}

/** From which similarity each endpoint's semantic hits are served, or how far it is from serving. */
function servedFrom(learned: StatsDto['semantic']['learned']): string {
  if (learned.length === 0) return 'not yet: nothing observed';
  const label = (endpoint: string) => (endpoint === 'chat.completions' ? 'chat' : 'completions');
  return learned
    .map(({ endpoint, observations, wrong, servedFrom, fewest }) =>
      servedFrom !== null
        ? `${label(endpoint)}: similarity ≥ ${servedFrom.toFixed(3)}`
        : `${label(endpoint)}: not yet (${count(observations)} observed, ${count(wrong)} wrong; ≥ ${count(fewest)} needed)`,
    )
    .join('; ');
}

/** The judge's name, and a warning when the embedding judge found that its model cannot tell answers apart. */
function judgeLabel(semantic: StatsDto['semantic']): Child {
  const check = semantic.judgeCheck;
  if (check?.tellsApart !== false) return semantic.judge;
  return h(
    'span',
    { class: 'error', title: `${percent(check.alikeShare)} of ${count(check.pairs)} pairs of unrelated answers looked the same` },
    `${semantic.judge}: cannot tell answers apart`,
  );
}
