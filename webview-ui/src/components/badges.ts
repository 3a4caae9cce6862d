/** Colored vscode-badges for request outcomes and skip reasons (colors live in styles.css). */

import type { CacheOutcomeDto, RequestEventDto } from '../../../src/shared/protocol';
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
    { class: `badge outcome-${failed ? 'error' : outcome.toLowerCase().replace('_', '-')}`, title: failed ? `${label}, HTTP ${status}` : label },
    failed ? `${text} · ${status}` : text,
  );
}

/** "team" for a hit answered from the team tier (a teammate's gateway stored it); nothing otherwise. */
export function tierBadge(event: Pick<RequestEventDto, 'outcome' | 'tier'>): HTMLElement | null {
  const hit = event.outcome === 'HIT' || event.outcome === 'SEMANTIC_HIT';
  if (!hit || event.tier !== 'team') return null;
  return h('vscode-badge', { class: 'badge tier-team', title: 'Answered from the team cache (shared Redis)' }, 'team');
}

export const SKIP_REASONS = ['client_opt_out', 'high_temperature', 'code_generation', 'financial', 'personalized', 'time_sensitive'] as const;

export function reasonBadge(reason: string | null): HTMLElement {
  const known = (SKIP_REASONS as readonly string[]).includes(reason ?? '');
  return h('vscode-badge', { class: `badge reason reason-${known ? reason : 'other'}` }, reason ? humanize(reason) : 'Unknown');
}
