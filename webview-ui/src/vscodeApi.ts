/**
 * The one place that talks to the extension host. Inside VS Code it wraps
 * `acquireVsCodeApi()` (which may be called only once per webview); in a plain
 * browser it falls back to `window.parent.postMessage` so a preview harness
 * hosting the page in an iframe can play the host.
 */

import type { HostToWebview, WebviewToHost } from '../../src/shared/protocol';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState<T>(state: T): T;
}

declare global {
  // Defined by VS Code's webview preload script (and by the preview harness); a global needs var.
  var acquireVsCodeApi: (() => VsCodeApi) | undefined;
}

/**
 * One handler for each type of message from the host. The compiler checks that every type
 * has one, and the handlers' keys are what the dashboard accepts on the message channel.
 */
export type HostHandlers = { [K in HostToWebview['type']]: (message: Extract<HostToWebview, { type: K }>) => void };

function createApi(): VsCodeApi {
  if (typeof globalThis.acquireVsCodeApi === 'function') return globalThis.acquireVsCodeApi();
  // A plain browser: the page's parent plays the host; state lives for the page's lifetime.
  let state: unknown;
  return {
    postMessage(message) {
      if (window.parent !== window) window.parent.postMessage(message, '*');
      else console.warn('[deja] no host to post to', message);
    },
    getState: () => state,
    setState<T>(next: T): T {
      state = next;
      return next;
    },
  };
}

const api = createApi();

export function post(message: WebviewToHost): void {
  api.postMessage(message);
}

/**
 * Hands each message from the host to its handler; anything else on the message channel
 * (another type, a newer host's message) is ignored. A handler that throws goes to
 * `onError`. Returns a function that stops listening.
 */
export function onMessage(handlers: HostHandlers, onError: (message: HostToWebview, error: unknown) => void): () => void {
  const listener = (event: MessageEvent<unknown>): void => {
    const data = event.data;
    if (typeof data !== 'object' || data === null) return;
    const type = (data as { type?: unknown }).type;
    if (typeof type !== 'string' || !Object.hasOwn(handlers, type)) return;
    const message = data as HostToWebview;
    // The map pairs each type with its message's handler; TypeScript cannot follow that through an index.
    const handle = handlers[message.type] as (message: HostToWebview) => void;
    try {
      handle(message);
    } catch (error) {
      onError(message, error);
    }
  };
  window.addEventListener('message', listener);
  return () => window.removeEventListener('message', listener);
}

/** What the webview saved last (see state.ts for its shape); undefined before it first saves. */
export function getState(): unknown {
  return api.getState();
}

export function setState(state: unknown): void {
  api.setState(state);
}
