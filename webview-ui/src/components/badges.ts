/** Colored vscode-badges for request outcomes and skip reasons (outcome colors live in styles.css, reason colors here). */

import { SKIP_REASONS, type CacheOutcomeDto, type RequestEventDto, type SkipReasonDto } from '../../../src/shared/protocol';
import { h } from '../dom';
import { humanize } from '../format';

const OUTCOME_LABEL: Record<CacheOutcomeDto, string> = {
  HIT: 'Hit',
  SEMANTIC_HIT: 'Semantic hit',
  MISS: 'Miss',
  SKIP: 'Skipped',
  BYPASS: 'Bypass',
};

export function outcomeLabel(outcome: CacheOutcomeDto): string {
  return OUTCOME_LABEL[outcome] ?? outcome;
}

/** Short badge texts; the full label goes to the tooltip and the accessible name. */
const OUTCOME_SHORT: Record<CacheOutcomeDto, string> = { ...OUTCOME_LABEL, SEMANTIC_HIT: 'Semantic' };

export function outcomeBadge(outcome: CacheOutcomeDto, status?: number): HTMLElement {
  const failed = status !== undefined && status >= 400;
  const label = OUTCOME_LABEL[outcome] ?? outcome;
  const text = OUTCOME_SHORT[outcome] ?? outcome;
  return h(
    'vscode-badge',
    {
      class: `badge outcome-${failed ? 'error' : outcome.toLowerCase().replace('_', '-')}`,
      title: failed ? `${label}, HTTP ${status}` : label,
    },
    failed ? `${text} · ${status}` : text,
  );
}

/** "team" for a hit answered from the team tier (a teammate's gateway stored it); nothing otherwise. */
export function tierBadge(event: Pick<RequestEventDto, 'outcome' | 'tier'>): HTMLElement | null {
  const hit = event.outcome === 'HIT' || event.outcome === 'SEMANTIC_HIT';
  if (!hit || event.tier !== 'team') return null;
  return h('vscode-badge', { class: 'badge tier-team', title: 'Answered from the team cache (shared Redis)' }, 'team');
}

/** Each skip reason's color, on its badge and its bar in the overview: a reason without one does not compile. */
const REASON_COLORS: Record<SkipReasonDto, string> = {
  client_opt_out: 'var(--vscode-descriptionForeground)',
  high_temperature: 'var(--vscode-charts-orange)',
  code_generation: 'var(--vscode-charts-blue)',
  financial: 'var(--vscode-charts-yellow)',
  personalized: 'var(--vscode-charts-purple)',
  time_sensitive: 'var(--vscode-charts-red)',
};

const isSkipReason = (value: string | null): value is SkipReasonDto => (SKIP_REASONS as readonly (string | null)[]).includes(value);

/** The color of a reason's badge and bar; undefined for a reason this dashboard does not know. */
export function reasonColor(reason: string | null): string | undefined {
  return isSkipReason(reason) ? REASON_COLORS[reason] : undefined;
}

export function reasonBadge(reason: string | null): HTMLElement {
  const badge = h(
    'vscode-badge',
    { class: `badge reason reason-${isSkipReason(reason) ? reason : 'other'}` },
    reason ? humanize(reason) : 'Unknown',
  );
  // Through the CSSOM, which a strict style-src allows (a style attribute it would block).
  const color = reasonColor(reason);
  if (color) badge.style.setProperty('--badge-color', color);
  return badge;
}
