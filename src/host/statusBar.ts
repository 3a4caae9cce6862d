import * as vscode from 'vscode';
import { Disposable, toDisposable } from './disposable';
import type { GatewayConnection } from './gatewayConnection';
import type { GatewayController } from './gatewayController';
import { statusBarView } from './statusBarView';

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
    const view = statusBarView(this.controller.current, this.connection.latestStats);
    this.item.text = view.text;
    this.item.backgroundColor = view.background ? new vscode.ThemeColor(`statusBarItem.${view.background}Background`) : undefined;
    this.item.tooltip = new vscode.MarkdownString(view.tooltip, true);
  }
}
