import * as vscode from 'vscode';
import type { HostToWebview, WebviewToHost } from '../shared/protocol';
import { DashboardSession } from './dashboardSession';
import { Disposable, toDisposable } from './disposable';
import type { GatewayConnection } from './gatewayConnection';
import type { GatewayController } from './gatewayController';
import { createNonce, dashboardHtml } from './webviewHtml';

/** The dashboard: one webview panel, reopened rather than duplicated. */
export class DashboardPanel extends Disposable {
  static readonly viewType = 'deja.dashboard';
  private static current: DashboardPanel | undefined;
  private readonly session: DashboardSession;

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    controller: GatewayController,
    connection: GatewayConnection,
  ) {
    super();
    const assets = vscode.Uri.joinPath(extensionUri, 'webview-ui', 'dist');
    const asset = (name: string) => panel.webview.asWebviewUri(vscode.Uri.joinPath(assets, name)).toString();
    panel.webview.html = dashboardHtml(
      { cspSource: panel.webview.cspSource, script: asset('main.js'), styles: asset('styles.css'), codicons: asset('codicon.css') },
      createNonce(),
    );
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'deja.svg');
    this.session = new DashboardSession({
      post: (message: HostToWebview) => void panel.webview.postMessage(message),
      admin: () => connection.admin,
      status: () => controller.current,
      confirm: async (question, action) => (await vscode.window.showWarningMessage(question, { modal: true }, action)) === action,
      startGateway: () => void controller.start(),
    });
    this.register(panel.webview.onDidReceiveMessage((message: WebviewToHost) => void this.session.handle(message)));
    this.register(panel.onDidChangeViewState(() => this.session.setVisible(panel.visible)));
    this.register(toDisposable(controller.onDidChange((status) => this.session.gatewayChanged(status))));
    this.register(toDisposable(connection.onEvent((event) => this.session.live(event))));
    this.register(panel.onDidDispose(() => this.dispose()));
  }

  static show(extensionUri: vscode.Uri, controller: GatewayController, connection: GatewayConnection): void {
    if (DashboardPanel.current) {
      DashboardPanel.current.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(DashboardPanel.viewType, 'Deja', vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: false,
      // Only the built dashboard and the icon: nothing else of the extension is readable.
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'webview-ui', 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
    });
    DashboardPanel.current = new DashboardPanel(panel, extensionUri, controller, connection);
  }

  override dispose(): void {
    if (DashboardPanel.current === this) DashboardPanel.current = undefined;
    this.session.dispose();
    super.dispose();
    this.panel.dispose();
  }
}
