/** The timer functions a write-behind uses; a test passes a manual clock. */
export interface WriteBehindTimers {
  setTimeout: typeof setTimeout;
  clearTimeout: typeof clearTimeout;
}

export interface WriteBehindOptions<B> {
  /** How long the first change waits for others to join its batch. Later changes do not push it back. */
  delayMs: number;
  /** Takes everything pending, leaving nothing behind; undefined when nothing is pending. */
  take: () => B | undefined;
  /** Writes one batch. */
  write: (batch: B) => Promise<void>;
  /** Told of a batch whose write failed: the batch is dropped, and later ones are written as usual. Must not throw. */
  onError: (error: unknown, batch: B) => void;
  /** True when enough is pending to write it now rather than at the timer. */
  full?: () => boolean;
  timers?: WriteBehindTimers;
}

/**
 * Changes gathered in memory and written in batches behind the caller's back: the
 * first change starts a timer, and the batch goes out when it fires or on flush().
 * One batch is written at a time, in order, so a flush never overlaps another.
 * The timer is unref'd: a pending batch never keeps the process alive, so the
 * owner's close() flushes. A failed write never rejects a flush; onError hears of it.
 */
export class WriteBehind<B> {
  private readonly timers: WriteBehindTimers;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: WriteBehindOptions<B>) {
    this.timers = options.timers ?? { setTimeout, clearTimeout };
  }

  /** Called after each change: starts the timer, or writes at once when the batch is full. */
  schedule(): void {
    if (this.options.full?.()) {
      void this.flush();
      return;
    }
    this.timer ??= this.timers.setTimeout(() => void this.flush(), this.options.delayMs);
    this.timer.unref?.();
  }

  /** Writes what is pending after the batches before it; resolves when every batch so far is written (or failed). */
  flush(): Promise<void> {
    if (this.timer) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    // Taken now, not when the previous batch is done: changes made meanwhile go in the next batch.
    const batch = this.options.take();
    if (batch === undefined) return this.writing;
    this.writing = this.writing.then(() => this.options.write(batch)).catch((error: unknown) => this.options.onError(error, batch));
    return this.writing;
  }
}
