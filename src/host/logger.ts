import * as vscode from 'vscode';
import type { Logger } from '../core/logger';

function format(message: string, fields?: Record<string, unknown>): string {
  if (!fields) return message;
  const parts = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${value instanceof Error ? value.message : typeof value === 'string' ? value : JSON.stringify(value)}`);
  return parts.length ? `${message} ${parts.join(' ')}` : message;
}

/** The "Deja" log: a LogOutputChannel, so VS Code's log level and "Show Log" apply. */
export function createLogChannel(): { channel: vscode.LogOutputChannel; logger: Logger } {
  const channel = vscode.window.createOutputChannel('Deja', { log: true });
  const logger: Logger = {
    error: (message, fields) => channel.error(format(message, fields)),
    warn: (message, fields) => channel.warn(format(message, fields)),
    info: (message, fields) => channel.info(format(message, fields)),
    debug: (message, fields) => channel.debug(format(message, fields)),
  };
  return { channel, logger };
}
