import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../core/logger';
import type { GatewayStatusDto } from '../shared/protocol';
import type { HealthDto, PortProbe } from './adminClient';
import { serveEnvironment, type DejaSettings } from './settings';

/** Restart delays after a crash; the last repeats. */
export const BACKOFF_MS = [1000, 2000, 4000, 8000, 16000, 30000];
/** A gateway that has run this long without crashing resets the backoff. */
const STABLE_MS = 60_000;
const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5000;
const ATTACHED_POLL_MS = 5000;

/** What the controller needs from its surroundings; injected, so it runs (and is tested) without VS Code. */
export interface ControllerDeps {
  settings(): DejaSettings;
  /** The data directory for these settings. */
  dataDir(settings: DejaSettings): string;
  /** Writes the policy file for these settings; returns its path. */
  writePolicy(settings: DejaSettings, dataDir: string): Promise<string>;
  apiKey(): Promise<string | undefined>;
  /** Starts `deja serve` with these arguments and extra environment. */
  launch(args: string[], env: Record<string, string>): ChildProcess;
  probe(port: number): Promise<PortProbe>;
  /** The serve arguments for these settings. */
  serveArguments(settings: DejaSettings, dataDir: string, policyFile: string): string[];
  ui: {
    /** Said once per streak of crashes, not at every restart. */
    crashed(message: string): void;
    /** Something else holds the port: offer another; resolves with the port chosen, if any. */
    portTaken(port: number, detail: string): Promise<number | undefined>;
    failed(message: string): void;
  };
  logger: Logger;
  /** Lines the gateway prints, for the log. */
  output(line: string): void;
  timers?: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout; now: () => number };
}

const OFF: GatewayStatusDto = { state: 'off', url: null, message: null, owned: false };

/**
 * The gateway's lifecycle as one window sees it: off, starting, running (this
 * window started it), attached (another window or the CLI did), error. A
 * started gateway is a child process run with VS Code's own Node
 * (ELECTRON_RUN_AS_NODE), so nothing heavy ever runs in the extension host; it
 * restarts after a crash with backoff, and stops when this window closes.
 */
export class GatewayController {
  private status: GatewayStatusDto = OFF;
  private child: ChildProcess | undefined;
  private stopping = false;
  private crashes = 0;
  private startedAt = 0;
  private toldCrash = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;
  private readonly listeners = new Set<(status: GatewayStatusDto) => void>();
  private readonly timers: NonNullable<ControllerDeps['timers']>;
  /** The data directory of the gateway in use (ours or the one attached to). */
  dataDir: string | undefined;
  health: HealthDto | undefined;

  constructor(private readonly deps: ControllerDeps) {
    this.timers = deps.timers ?? { setTimeout, clearTimeout, now: Date.now };
  }

  get current(): GatewayStatusDto {
    return this.status;
  }

  onDidChange(listener: (status: GatewayStatusDto) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(status: GatewayStatusDto): void {
    this.status = status;
    for (const listener of this.listeners) listener(status);
  }

  /** Starts a gateway, or attaches to one already answering on the port. */
  start(): Promise<void> {
    if (this.status.state === 'running' || this.status.state === 'attached') return Promise.resolve();
    this.starting ??= this.doStart().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async doStart(): Promise<void> {
    this.cancelTimers();
    this.stopping = false;
    const settings = this.deps.settings();
    const url = `http://127.0.0.1:${settings.port}`;
    this.set({ state: 'starting', url: null, message: null, owned: false });
    const probe = await this.deps.probe(settings.port);
    // Stopped while looking: neither attach nor launch.
    if (this.stopping) return;
    if (probe.kind === 'deja') {
      this.attach(probe.health, url);
      return;
    }
    if (probe.kind === 'other') {
      const message = `Port ${settings.port} is used by another program (${probe.detail}).`;
      this.set({ state: 'error', url: null, message, owned: false });
      const chosen = await this.deps.ui.portTaken(settings.port, probe.detail);
      // Choosing another port changes the setting, and the settings listener restarts us.
      if (chosen === undefined) this.deps.logger.warn(message);
      return;
    }
    await this.launch(settings, url);
  }

  private attach(health: HealthDto, url: string): void {
    this.health = health;
    this.dataDir = health.dataDir ?? undefined;
    this.deps.logger.info(`attached to the Deja gateway already running at ${url} (pid ${health.pid}, data ${health.dataDir})`);
    this.set({ state: 'attached', url, message: null, owned: false });
    // If the other window goes away, take over.
    const poll = async () => {
      const probe = await this.deps.probe(this.deps.settings().port);
      if (this.status.state !== 'attached') return;
      if (probe.kind === 'deja') {
        this.pollTimer = this.timers.setTimeout(() => void poll(), ATTACHED_POLL_MS);
        return;
      }
      this.deps.logger.info('the gateway this window was attached to has stopped: starting one');
      this.set({ ...OFF });
      void this.start();
    };
    this.pollTimer = this.timers.setTimeout(() => void poll(), ATTACHED_POLL_MS);
  }

  private async launch(settings: DejaSettings, url: string): Promise<void> {
    const dataDir = this.deps.dataDir(settings);
    let child: ChildProcess;
    try {
      const policyFile = await this.deps.writePolicy(settings, dataDir);
      const apiKey = await this.deps.apiKey();
      if (this.stopping) return;
      child = this.deps.launch(this.deps.serveArguments(settings, dataDir, policyFile), serveEnvironment(settings, apiKey));
    } catch (error) {
      this.fail(`The gateway could not be started: ${(error as Error).message}`);
      return;
    }
    this.child = child;
    this.dataDir = dataDir;
    const tail: string[] = [];
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        this.deps.output(line);
        tail.push(line);
        if (tail.length > 20) tail.shift();
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const exited = new Promise<string>((resolve) =>
      child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit code ${code}`)),
    );
    child.once('error', (error) => this.deps.output(`failed to start: ${error.message}`));

    const ready = await Promise.race([this.waitForHealth(settings.port, child), exited.then(() => undefined)]);
    // Stopped while starting: the child stays in this.child for stop() to end.
    if (this.stopping) return;
    if (!ready) {
      if (this.child === child) this.child = undefined;
      const silent =
        child.exitCode === null && child.signalCode === null
          ? `it did not answer within ${READY_TIMEOUT_MS / 1000} s`
          : 'it exited without saying why';
      child.kill('SIGKILL');
      // Two windows starting at once both find the port free; the one that loses attaches to the winner.
      const now = await this.deps.probe(settings.port);
      if (this.stopping) return;
      if (now.kind === 'deja') {
        this.attach(now.health, url);
        return;
      }
      const why = tail.filter((line) => /deja serve:|error|Error/.test(line)).pop() ?? tail.pop() ?? silent;
      this.fail(`The gateway did not start: ${why}`);
      return;
    }
    this.health = ready;
    this.startedAt = this.timers.now();
    this.set({ state: 'running', url, message: null, owned: true });
    void exited.then((how) => this.onExit(child, how));
  }

  private async waitForHealth(port: number, child: ChildProcess): Promise<HealthDto | undefined> {
    const deadline = this.timers.now() + READY_TIMEOUT_MS;
    while (this.timers.now() < deadline && child.exitCode === null && !this.stopping) {
      const probe = await this.deps.probe(port);
      if (probe.kind === 'deja' && probe.health.pid === child.pid) return probe.health;
      await new Promise((resolve) => this.timers.setTimeout(resolve, 100));
    }
    return undefined;
  }

  private onExit(child: ChildProcess, how: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    if (this.stopping) return;
    // A crash: restart with backoff, and say so once per streak.
    if (this.timers.now() - this.startedAt > STABLE_MS) {
      this.crashes = 0;
      this.toldCrash = false;
    }
    const delay = BACKOFF_MS[Math.min(this.crashes, BACKOFF_MS.length - 1)]!;
    this.crashes++;
    const message = `The gateway stopped unexpectedly (${how}); restarting in ${delay / 1000} s.`;
    this.deps.logger.warn(message);
    if (!this.toldCrash) {
      this.toldCrash = true;
      this.deps.ui.crashed(message);
    }
    this.set({ state: 'starting', url: null, message, owned: false });
    this.restartTimer = this.timers.setTimeout(() => void this.start(), delay);
  }

  private fail(message: string): void {
    this.deps.logger.error(message);
    this.set({ state: 'error', url: null, message, owned: false });
    this.deps.ui.failed(message);
  }

  private cancelTimers(): void {
    if (this.restartTimer) this.timers.clearTimeout(this.restartTimer);
    if (this.pollTimer) this.timers.clearTimeout(this.pollTimer);
    this.restartTimer = undefined;
    this.pollTimer = undefined;
  }

  /** Stops the gateway this window started; detaches from one it did not. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.cancelTimers();
    await this.starting?.catch(() => {});
    const child = this.child;
    this.child = undefined;
    // A child killed by a signal has a null exitCode but has exited all the same.
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = this.timers.setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      this.timers.clearTimeout(timer);
    }
    this.crashes = 0;
    this.toldCrash = false;
    this.set({ ...OFF });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** On window close: stop what this window started, leave anything else running. */
  dispose(): Promise<void> {
    return this.stop();
  }
}
