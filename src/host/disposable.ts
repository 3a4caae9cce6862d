import type * as vscode from 'vscode';

/** A base that owns its subscriptions: everything registered is disposed with it. */
export abstract class Disposable implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;

  protected register<T extends vscode.Disposable>(value: T): T {
    if (this.disposed) value.dispose();
    else this.disposables.push(value);
    return value;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}

/** A plain unsubscribe function as a vscode.Disposable. */
export function toDisposable(dispose: () => void): vscode.Disposable {
  return { dispose };
}
