import type { LiveEventDto } from '../shared/protocol';

/** Fan-out of live events to the dashboard's event streams. */
export class LiveEvents {
  private readonly listeners = new Set<(event: LiveEventDto) => void>();

  publish(event: LiveEventDto): void {
    for (const listener of this.listeners) listener(event);
  }

  subscribe(listener: (event: LiveEventDto) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
