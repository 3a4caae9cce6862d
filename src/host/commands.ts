import * as vscode from 'vscode';
import type { EntrySummaryDto } from '../shared/protocol';
import { DashboardPanel } from './dashboardPanel';
import type { GatewayConnection } from './gatewayConnection';
import type { GatewayController } from './gatewayController';

export const API_KEY_SECRET = 'deja.upstreamApiKey';

export interface CommandDeps {
  context: vscode.ExtensionContext;
  controller: GatewayController;
  connection: GatewayConnection;
  log: vscode.LogOutputChannel;
}

function requireAdmin(connection: GatewayConnection) {
  const admin = connection.admin;
  if (!admin) throw new Error('The Deja gateway is not running. Start it with "Deja: Start Gateway".');
  return admin;
}

/** Runs a command body, turning a failure into an error message instead of a silent rejection. */
function guarded(body: () => Promise<unknown> | unknown): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (error) {
      void vscode.window.showErrorMessage((error as Error).message);
    }
  };
}

/** A quick pick over the stored entries, searched by prompt text as the user types. */
async function pickEntry(connection: GatewayConnection): Promise<EntrySummaryDto | undefined> {
  const admin = requireAdmin(connection);
  const pick = vscode.window.createQuickPick<vscode.QuickPickItem & { entry: EntrySummaryDto }>();
  pick.placeholder = 'Search cached prompts to evict';
  // Run from the palette while the dashboard has focus, the webview takes focus back a moment after the
  // palette closes; a pick that hid on losing focus could vanish before the user saw it.
  pick.ignoreFocusOut = true;
  pick.matchOnDescription = true;
  let generation = 0;
  const load = async (search: string) => {
    const mine = ++generation;
    pick.busy = true;
    try {
      const page = await admin.entries({ search, sort: 'lastHit', order: 'desc', offset: 0, limit: 100 });
      if (mine !== generation) return;
      pick.items = page.items.map((entry) => ({
        label: entry.prompt.replace(/\s+/g, ' ').slice(0, 120) || `(${entry.endpoint})`,
        description: `${entry.model} · ${entry.hits} hits`,
        detail: entry.answer.replace(/\s+/g, ' ').slice(0, 160),
        entry,
      }));
    } finally {
      if (mine === generation) pick.busy = false;
    }
  };
  let debounce: NodeJS.Timeout | undefined;
  pick.onDidChangeValue((value) => {
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => void load(value), 200);
  });
  void load('');
  return new Promise((resolve) => {
    pick.onDidAccept(() => {
      resolve(pick.selectedItems[0]?.entry);
      pick.hide();
    });
    pick.onDidHide(() => {
      resolve(undefined);
      pick.dispose();
    });
    pick.show();
  });
}

/** Every command of the "Deja" category. */
export function registerCommands({ context, controller, connection, log }: CommandDeps): vscode.Disposable[] {
  const register = (id: string, body: () => Promise<unknown> | unknown) => vscode.commands.registerCommand(id, guarded(body));
  return [
    register('deja.startGateway', () => controller.start()),
    register('deja.stopGateway', () => controller.stop()),
    register('deja.restartGateway', () => controller.restart()),
    register('deja.openDashboard', () => DashboardPanel.show(context.extensionUri, controller, connection)),
    register('deja.copyEndpointUrl', async () => {
      const url = controller.current.url;
      if (!url) throw new Error('The Deja gateway is not running, so there is no endpoint yet.');
      await vscode.env.clipboard.writeText(`${url}/v1`);
      void vscode.window.showInformationMessage(`Copied ${url}/v1: paste it as the OpenAI base URL of your tool.`);
    }),
    register('deja.toggleCaching', async () => {
      const admin = requireAdmin(connection);
      // Asked afresh: the status bar's figures may be seconds old, and a toggle must not act on a stale state.
      const current = (await admin.stats('1h')).cache.caching;
      const result = await admin.setCaching(!current);
      void vscode.window.showInformationMessage(
        result.enabled ? 'Deja caching is on.' : 'Deja caching is off: requests go straight to the upstream.',
      );
    }),
    register('deja.clearCache', async () => {
      const admin = requireAdmin(connection);
      const answer = await vscode.window.showWarningMessage(
        'Clear every cached answer? This cannot be undone.',
        { modal: true },
        'Clear Cache',
      );
      if (answer !== 'Clear Cache') return;
      const { evicted } = await admin.clear();
      void vscode.window.showInformationMessage(`Cleared ${evicted} cached answer${evicted === 1 ? '' : 's'}.`);
    }),
    register('deja.evictEntry', async () => {
      const entry = await pickEntry(connection);
      if (!entry) return;
      await requireAdmin(connection).evict([entry.id]);
      void vscode.window.showInformationMessage(`Evicted "${entry.prompt.slice(0, 60)}".`);
    }),
    register('deja.setUpstreamApiKey', async () => {
      const key = await vscode.window.showInputBox({
        title: 'Deja: upstream API key',
        prompt:
          "Sent to the vLLM server when a tool sends no key of its own. Stored in VS Code's secret storage. Leave empty to remove it.",
        password: true,
        ignoreFocusOut: true,
      });
      if (key === undefined) return;
      if (key === '') await context.secrets.delete(API_KEY_SECRET);
      else await context.secrets.store(API_KEY_SECRET, key);
      if (controller.current.owned) await controller.restart();
      void vscode.window.showInformationMessage(key === '' ? 'Upstream API key removed.' : 'Upstream API key saved.');
    }),
    register('deja.showLog', () => log.show()),
  ];
}
