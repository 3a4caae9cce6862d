import type { GatewayStatusDto, StatsDto } from '../shared/protocol';

/** What the status bar item shows, computed without VS Code so it can be tested. */
export interface StatusBarView {
  text: string;
  /** Markdown, with codicons. */
  tooltip: string;
  background: 'error' | 'warning' | undefined;
}

const percent = (value: number | null) => (value === null ? '—' : `${Math.round(value * 100)}%`);
const count = (value: number) => value.toLocaleString('en');

/** Backticks would end the code span a value is shown in. */
const code = (value: string) => `\`${value.replace(/`/g, "'")}\``;

export function statusBarView(status: GatewayStatusDto, stats: StatsDto | undefined): StatusBarView {
  const up = status.state === 'running' || status.state === 'attached';
  const rate = stats ? ` ${percent(stats.hitRate)}` : '';
  const team = up ? (stats?.shared ?? null) : null;
  // A team tier that is down is worth a glance, not an alarm: requests go on, locally.
  const teamDown = team !== null && team.state === 'down';
  const texts: Record<GatewayStatusDto['state'], string> = {
    off: '$(circle-slash) Deja off',
    starting: '$(sync~spin) Deja',
    running: `${teamDown ? '$(warning)' : '$(database)'} Deja${rate}`,
    attached: `${teamDown ? '$(warning)' : '$(plug)'} Deja${rate}`,
    error: '$(error) Deja',
  };
  const lines: string[] = [];
  lines.push(`**Deja**: ${status.state}${status.owned ? '' : status.state === 'attached' ? ' (started by another window)' : ''}`);
  if (status.url) lines.push(`OpenAI base URL: ${code(`${status.url}/v1`)}`);
  if (status.message) lines.push(status.message);
  if (stats) {
    const hits = stats.exactHits + stats.semanticHits;
    const fromTeam = team ? `, ${count(stats.teamHits)} from the team` : '';
    lines.push(
      `Last hour: ${count(stats.requests)} requests, ${count(hits)} hits (${percent(stats.hitRate)}; ${count(stats.semanticHits)} semantic${fromTeam}), ` +
        `${count(stats.savings.promptTokensSaved + stats.savings.completionTokensSaved)} tokens saved`,
    );
  }
  if (team) {
    const where = `team ${code(team.team)} at ${code(team.url)}`;
    if (team.state === 'down')
      lines.push(`$(warning) Team cache down (${team.reason ?? 'no answer'}): working on this machine only until ${where} is back`);
    else if (team.state === 'connecting') lines.push(`Team cache: connecting to ${where}`);
    else lines.push(`Team cache: sharing with ${where}`);
  }
  lines.push('Click to open the dashboard');
  return {
    text: texts[status.state],
    tooltip: lines.join('\n\n'),
    background: status.state === 'error' ? 'error' : teamDown ? 'warning' : undefined,
  };
}
