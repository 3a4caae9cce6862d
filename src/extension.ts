import type * as vscode from 'vscode';
import { registerCommands } from './host/commands';
import { createGatewayController, currentSettings, vscodeSettings } from './host/gatewayHost';
import { GatewayConnection } from './host/gatewayConnection';
import type { GatewayController } from './host/gatewayController';
import { createLogChannel } from './host/logger';
import { watchSettings } from './host/settings';
import { StatusBar } from './host/statusBar';

/** What tests reach through `extension.exports`. */
export interface DejaApi {
  controller: GatewayController;
  connection: GatewayConnection;
  /** Time activate() itself took, in milliseconds. */
  activationMs: number;
}

// Disposed in deactivate(), not through subscriptions: stopping the gateway is async, and VS Code awaits only deactivate()'s promise.
let controller: GatewayController | undefined;

/**
 * A table of contents: the log, the gateway controller, the connection to it, the
 * status bar, the commands and the settings watcher. The gateway itself starts
 * after activation returns, in a child process: nothing heavy runs here.
 */
export function activate(context: vscode.ExtensionContext): DejaApi {
  const began = performance.now();
  const { channel, logger } = createLogChannel();
  const gateway = createGatewayController(context, channel, logger);
  controller = gateway;
  const connection = new GatewayConnection(gateway, logger);
  context.subscriptions.push(
    channel,
    new StatusBar(gateway, connection),
    ...registerCommands({ context, controller: gateway, connection, log: channel }),
    connection,
    watchSettings(gateway, vscodeSettings),
  );
  if (currentSettings().autoStart) setImmediate(() => void gateway.start());
  const activationMs = performance.now() - began;
  logger.info(`activated in ${activationMs.toFixed(1)} ms`);
  return { controller: gateway, connection, activationMs };
}

/** Stops the gateway this window started; one started elsewhere keeps running. */
export async function deactivate(): Promise<void> {
  await controller?.dispose();
  controller = undefined;
}
