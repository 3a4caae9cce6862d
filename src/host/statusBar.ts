import * as vscode from 'vscode';
import type { GatewayStatusDto, StatsDto } from '../shared/protocol';
import { Disposable, toDisposable } from './disposable';
import type { GatewayConnection } from './gatewayConnection';
import type { GatewayController } from './gatewayController';

const percent = (value: number | null) => (value === null ? '—' : `${Math.round(value * 100)}%`);
const count = (value: number) => value.toLocaleString('en');

/** The status bar item: the gateway's state and live hit rate; a click opens the dashboard. */
export class StatusBar extends Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor(
    private readonly controller: GatewayController,
    private readonly connection: GatewayConnection,
  ) {
    super();
    this.item = this.register(vscode.window.createStatusBarItem('deja.status', vscode.StatusBarAlignment.Right, 100));
    this.item.name = 'Deja';
    this.item.command = 'deja.openDashboard';
    this.register(toDisposable(controller.onDidChange(() => this.render())));
    this.register(toDisposable(connection.onStats(() => this.render())));
    this.render();
    this.item.show();
  }

  private render(): void {
    const status: GatewayStatusDto = this.controller.current;
    const stats: StatsDto | undefined = this.connection.latestStats;
    const rate = stats ? ` ${percent(stats.hitRate)}` : '';
    const texts: Record<GatewayStatusDto['state'], string> = {
      off: '$(circle-slash) Deja off',
      starting: '$(sync~spin) Deja',
      running: `$(database) Deja${rate}`,
      attached: `$(plug) Deja${rate}`,
      error: '$(error) Deja',
    };
    this.item.text = texts[status.state];
    this.item.backgroundColor = status.state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.appendMarkdown(`**Deja**: ${status.state}${status.owned ? '' : status.state === 'attached' ? ' (started by another window)' : ''}\n\n`);
    if (status.url) tooltip.appendMarkdown(`OpenAI base URL: \`${status.url}/v1\`\n\n`);
    if (status.message) tooltip.appendMarkdown(`${status.message}\n\n`);
    if (stats) {
      const hits = stats.exactHits + stats.semanticHits;
      tooltip.appendMarkdown(
        `Last hour: ${count(stats.requests)} requests, ${count(hits)} hits (${percent(stats.hitRate)}; ${count(stats.semanticHits)} semantic), ` +
          `${count(stats.savings.promptTokensSaved + stats.savings.completionTokensSaved)} tokens saved\n\n`,
      );
    }
    tooltip.appendMarkdown('Click to open the dashboard');
    this.item.tooltip = tooltip;
  }
}
