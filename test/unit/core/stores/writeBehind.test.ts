import assert from 'node:assert/strict';
import { WriteBehind, type WriteBehindOptions } from '../../../../src/core/stores/writeBehind';
import { FakeClock, settle } from '../../host/fakes';

type Batch = number[];

/** A write-behind over a list of numbers, on a manual clock; `write` records each batch. */
function setup(options: Partial<WriteBehindOptions<Batch>> = {}, pending: number[] = []) {
  const clock = new FakeClock();
  const written: Batch[] = [];
  const errors: Array<{ error: unknown; batch: Batch }> = [];
  const writer = new WriteBehind<Batch>({
    delayMs: 100,
    take: () => (pending.length ? pending.splice(0) : undefined),
    write: async (batch) => {
      written.push(batch);
    },
    onError: (error, batch) => errors.push({ error, batch }),
    timers: clock,
    ...options,
  });
  const change = (value: number): void => {
    pending.push(value);
    writer.schedule();
  };
  return { clock, pending, written, errors, writer, change };
}

/** Writes that finish only when the test says so, to hold a batch in flight. */
function gatedWrites() {
  const started: Batch[] = [];
  const finish: Array<(error?: Error) => void> = [];
  const write = (batch: Batch): Promise<void> => {
    started.push(batch);
    return new Promise<void>((resolve, reject) => finish.push((error) => (error ? reject(error) : resolve())));
  };
  return { started, finish, write };
}

/** Whether a promise has settled, after the pending callbacks run. */
function tracked(promise: Promise<void>): { readonly done: boolean } {
  const state = { done: false };
  void promise.then(() => (state.done = true));
  return state;
}

describe('WriteBehind', () => {
  it('writes the changes of the delay as one batch when the first change’s timer fires', async () => {
    const { clock, written, change } = setup();
    change(1);
    await clock.advance(60);
    change(2);
    change(3);
    assert.equal(clock.size, 1, 'later changes join the running timer');
    await clock.advance(39);
    assert.deepEqual(written, []);
    await clock.advance(1);
    assert.deepEqual(written, [[1, 2, 3]]);
    change(4);
    await clock.advance(100);
    assert.deepEqual(written, [[1, 2, 3], [4]]);
  });

  it('flush() writes at once and stops the timer; with nothing pending it writes nothing', async () => {
    const { clock, written, change, writer } = setup();
    change(1);
    await writer.flush();
    assert.deepEqual(written, [[1]]);
    assert.equal(clock.size, 0);
    await writer.flush();
    await clock.advance(500);
    assert.deepEqual(written, [[1]]);
  });

  it('writes one batch at a time, in order, and flush() waits for the one in flight', async () => {
    const gate = gatedWrites();
    const { change, writer } = setup({ write: gate.write });
    change(1);
    const first = tracked(writer.flush());
    await settle();
    assert.deepEqual(gate.started, [[1]]);
    // Changes made while a batch is written go in the next one, which waits its turn.
    change(2);
    const second = tracked(writer.flush());
    const idle = tracked(writer.flush());
    await settle();
    assert.deepEqual(gate.started, [[1]], 'no second write while the first is in flight');
    gate.finish[0]!();
    await settle();
    assert.equal(first.done, true);
    assert.deepEqual(gate.started, [[1], [2]]);
    assert.equal(second.done, false);
    assert.equal(idle.done, false, 'a flush with nothing pending still waits for the write in flight');
    gate.finish[1]!();
    await settle();
    assert.equal(second.done, true);
    assert.equal(idle.done, true);
  });

  it('a failed write goes to onError with its batch, the flush resolves, and later batches are written', async () => {
    const gate = gatedWrites();
    const { change, writer, errors } = setup({ write: gate.write });
    change(1);
    const failed = writer.flush();
    change(2);
    const next = writer.flush();
    await settle();
    gate.finish[0]!(new Error('disk full'));
    await failed;
    assert.equal(errors.length, 1);
    assert.equal((errors[0]!.error as Error).message, 'disk full');
    assert.deepEqual(errors[0]!.batch, [1]);
    await settle();
    assert.deepEqual(gate.started, [[1], [2]]);
    gate.finish[1]!();
    await next;
    assert.equal(errors.length, 1);
  });

  it('a write that throws before returning a promise is handled the same way', async () => {
    const { change, writer, errors } = setup({
      write: () => {
        throw new Error('bad batch');
      },
    });
    change(1);
    await writer.flush();
    assert.deepEqual(
      errors.map((e) => [(e.error as Error).message, e.batch]),
      [['bad batch', [1]]],
    );
  });

  it('a full batch is written at once, without waiting for the timer', async () => {
    const pending: number[] = [];
    const { clock, written, change } = setup({ full: () => pending.length >= 3 }, pending);
    change(1);
    change(2);
    assert.equal(clock.size, 1);
    change(3);
    assert.equal(clock.size, 0, 'the full batch cancels the timer');
    await settle();
    assert.deepEqual(written, [[1, 2, 3]]);
    change(4);
    await clock.advance(100);
    assert.deepEqual(written, [[1, 2, 3], [4]]);
  });

  it('its timer does not keep the process alive', async () => {
    const timeouts: NodeJS.Timeout[] = [];
    const { written, change, writer } = setup({
      delayMs: 5,
      timers: {
        setTimeout: ((fn: () => void, ms: number) => {
          const timeout = setTimeout(fn, ms);
          timeouts.push(timeout);
          return timeout;
        }) as typeof setTimeout,
        clearTimeout,
      },
    });
    change(1);
    assert.equal(timeouts.length, 1);
    assert.equal(timeouts[0]!.hasRef(), false);
    await writer.flush();
    assert.deepEqual(written, [[1]]);
  });
});
