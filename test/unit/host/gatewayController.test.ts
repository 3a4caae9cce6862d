import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { HealthDto, PortProbe } from '../../../src/host/adminClient';
import { BACKOFF_MS, GatewayController, type ControllerDeps } from '../../../src/host/gatewayController';
import { DEFAULT_SETTINGS, serveArguments, type DejaSettings } from '../../../src/host/settings';
import type { GatewayStatusDto } from '../../../src/shared/protocol';
import { FakeChild, FakeClock, recordingLogger, settle } from './fakes';

const PORT = 9123;

function health(pid: number, dataDir: string | null = '/other/data'): HealthDto {
  return { name: 'deja', version: '0.0.0-test', pid, dataDir, upstream: 'http://127.0.0.1:8000/v1', caching: true };
}

interface Launch {
  args: string[];
  env: Record<string, string>;
  child: FakeChild;
  port: number;
}

/**
 * A controller wired to a pretend machine: `ports` says what answers on each
 * port, launched children are FakeChild, and time only moves with the clock.
 */
function setup(options: { apiKey?: string; onLaunch?: (launch: Launch, ports: Map<number, PortProbe>) => void } = {}) {
  const clock = new FakeClock();
  const ports = new Map<number, PortProbe>();
  const launches: Launch[] = [];
  const probes: number[] = [];
  const crashed: string[] = [];
  const failed: string[] = [];
  const portTaken: Array<{ port: number; detail: string }> = [];
  const output: string[] = [];
  const statuses: GatewayStatusDto[] = [];
  const logger = recordingLogger();
  let settings: DejaSettings = { ...DEFAULT_SETTINGS, port: PORT };
  let nextPid = 4000;
  let portTakenAnswer: number | undefined;
  let probeGate: Promise<void> | undefined;
  // By default a launched gateway answers /health as soon as it is probed.
  const onLaunch =
    options.onLaunch ??
    ((launch: Launch, map: Map<number, PortProbe>) => map.set(launch.port, { kind: 'deja', health: health(launch.child.pid, '/data') }));

  const deps: ControllerDeps = {
    settings: () => settings,
    dataDir: (s) => `/data/${s.port}`,
    writePolicy: async (_s, dataDir) => `${dataDir}/policy.json`,
    apiKey: async () => options.apiKey,
    launch: (args, env) => {
      const child = new FakeChild(nextPid++);
      const port = Number(args[args.indexOf('--port') + 1]);
      const launch = { args, env, child, port };
      launches.push(launch);
      // A gateway that exits stops answering on its port.
      child.on('exit', () => {
        const answer = ports.get(port);
        if (answer?.kind === 'deja' && answer.health.pid === child.pid) ports.delete(port);
      });
      onLaunch(launch, ports);
      return child as unknown as ChildProcess;
    },
    probe: async (port) => {
      probes.push(port);
      if (probeGate) await probeGate;
      return ports.get(port) ?? { kind: 'free' };
    },
    serveArguments,
    ui: {
      crashed: (message) => void crashed.push(message),
      portTaken: async (port, detail) => {
        portTaken.push({ port, detail });
        return portTakenAnswer;
      },
      failed: (message) => void failed.push(message),
    },
    logger,
    output: (line) => void output.push(line),
    timers: clock,
  };
  const controller = new GatewayController(deps);
  controller.onDidChange((status) => void statuses.push(status));
  return {
    controller,
    clock,
    ports,
    launches,
    probes,
    crashed,
    failed,
    portTaken,
    output,
    statuses,
    logger,
    get child(): FakeChild {
      const last = launches.at(-1);
      assert.ok(last, 'nothing was launched');
      return last.child;
    },
    setSettings: (next: Partial<DejaSettings>) => (settings = { ...settings, ...next }),
    answerPortTaken: (port: number | undefined) => (portTakenAnswer = port),
    /** Holds every probe until the returned function is called. */
    holdProbes: () => {
      let release!: () => void;
      probeGate = new Promise<void>((resolve) => (release = resolve));
      return () => {
        probeGate = undefined;
        release();
      };
    },
  };
}

type World = ReturnType<typeof setup>;

/** Starts and checks the gateway is running on a fresh child. */
async function startRunning(world: World): Promise<FakeChild> {
  await world.controller.start();
  assert.equal(world.controller.current.state, 'running');
  return world.child;
}

describe('GatewayController', function () {
  this.timeout(3000);
  let worlds: World[] = [];
  const make = (options?: Parameters<typeof setup>[0]) => {
    const world = setup(options);
    worlds.push(world);
    return world;
  };

  afterEach(async () => {
    // Leave no children or timers behind: stop each controller, letting fake time run.
    for (const world of worlds) {
      const stopped = world.controller.stop();
      await world.clock.advance(10_000);
      await stopped;
    }
    worlds = [];
  });

  describe('starting', () => {
    it('starts off', () => {
      const { controller } = make();
      assert.deepEqual(controller.current, { state: 'off', url: null, message: null, owned: false });
    });

    it('launches `deja serve` with the serve arguments when the port is free, and runs once healthy', async () => {
      const world = make();
      await world.controller.start();
      assert.equal(world.launches.length, 1);
      const settings = { ...DEFAULT_SETTINGS, port: PORT };
      assert.deepEqual(world.launches[0]!.args, serveArguments(settings, `/data/${PORT}`, `/data/${PORT}/policy.json`));
      assert.deepEqual(world.launches[0]!.env, {});
      assert.deepEqual(world.controller.current, { state: 'running', url: `http://127.0.0.1:${PORT}`, message: null, owned: true });
      assert.equal(world.controller.dataDir, `/data/${PORT}`);
      assert.equal(world.controller.health?.pid, world.child.pid);
      assert.deepEqual(
        world.statuses.map((status) => status.state),
        ['starting', 'running'],
      );
      assert.deepEqual(world.failed, []);
    });

    it('passes the upstream API key in the environment, never in the arguments', async () => {
      const world = make({ apiKey: 'sk-secret' });
      await world.controller.start();
      assert.deepEqual(world.launches[0]!.env, { DEJA_UPSTREAM_API_KEY: 'sk-secret' });
      assert.ok(!world.launches[0]!.args.some((arg) => arg.includes('sk-secret')));
    });

    it('stays starting until /health answers with its own child pid', async () => {
      let launched: Launch | undefined;
      const world = make({ onLaunch: (launch) => (launched = launch) });
      // Another Deja (say, a race with another window) answers with a different pid meanwhile.
      let done = false;
      const started = world.controller.start().then(() => (done = true));
      await settle();
      world.ports.set(PORT, { kind: 'deja', health: health(1) });
      await world.clock.advance(1000);
      assert.equal(done, false);
      assert.equal(world.controller.current.state, 'starting');
      const probesSoFar = world.probes.length;
      assert.ok(probesSoFar >= 10, `probed ${probesSoFar} times in 1 s`);
      world.ports.set(PORT, { kind: 'deja', health: health(launched!.child.pid, '/data') });
      await world.clock.advance(100);
      await started;
      assert.equal(world.controller.current.state, 'running');
      assert.equal(world.launches.length, 1);
    });

    it('forwards the gateway output line by line, without blank lines', async () => {
      const world = make();
      const child = await startRunning(world);
      child.stdout.write('listening on 127.0.0.1\n\n');
      child.stderr.write('a warning\r\n  \nlast line');
      await settle();
      assert.deepEqual(world.output, ['listening on 127.0.0.1', 'a warning\r', 'last line']);
    });

    it('shares one start between concurrent calls and does nothing once running', async () => {
      const world = make();
      await Promise.all([world.controller.start(), world.controller.start(), world.controller.start()]);
      await world.controller.start();
      assert.equal(world.launches.length, 1);
      assert.equal(world.controller.current.state, 'running');
    });

    it('fails with the error line the gateway printed when it exits before being ready', async () => {
      const world = make({
        onLaunch: ({ child }) => {
          setImmediate(() => {
            child.stderr.write('loading\ndeja serve: port 9123 on 127.0.0.1 is already in use\nbye\n');
            setImmediate(() => child.exit(1));
          });
        },
      });
      await world.controller.start();
      assert.equal(world.controller.current.state, 'error');
      assert.equal(world.controller.current.owned, false);
      assert.equal(world.controller.current.message, 'The gateway did not start: deja serve: port 9123 on 127.0.0.1 is already in use');
      assert.deepEqual(world.failed, [world.controller.current.message]);
      assert.ok(world.logger.lines.some((line) => line.level === 'error' && line.message === world.controller.current.message));
      assert.deepEqual(world.crashed, [], 'a failed start is not a crash');
      await world.clock.advance(60_000);
      assert.equal(world.launches.length, 1, 'a failed start is not retried on its own');
    });

    it('attaches to the winner when another window started a gateway on the port at the same moment', async () => {
      const world = make({
        onLaunch: ({ child, port }, ports) => {
          // The other window's gateway took the port first; ours fails to bind and exits.
          ports.set(port, { kind: 'deja', health: health(7777, '/shared/data') });
          setImmediate(() => {
            child.stderr.write(`deja serve: port ${port} on 127.0.0.1 is already in use\n`);
            setImmediate(() => child.exit(1));
          });
        },
      });
      await world.controller.start();
      assert.equal(world.controller.current.state, 'attached');
      assert.equal(world.controller.current.owned, false);
      assert.equal(world.controller.dataDir, '/shared/data');
      assert.deepEqual(world.failed, [], 'losing the race is not an error');
    });

    it('says it exited without saying why when it printed nothing', async () => {
      const world = make({ onLaunch: ({ child }) => setImmediate(() => child.exit(3)) });
      await world.controller.start();
      assert.equal(world.controller.current.message, 'The gateway did not start: it exited without saying why');
    });

    it('kills a gateway that never gets healthy after 20 s, and says so', async () => {
      const world = make({ onLaunch: () => {} });
      let done = false;
      const started = world.controller.start().then(() => (done = true));
      await world.clock.advance(19_900);
      assert.equal(done, false);
      assert.deepEqual(world.child.kills, []);
      await world.clock.advance(200);
      await started;
      assert.deepEqual(world.child.kills, ['SIGKILL']);
      assert.equal(world.controller.current.state, 'error');
      assert.equal(world.controller.current.message, 'The gateway did not start: it did not answer within 20 s');
      assert.equal(world.failed.length, 1);
    });

    it('fails without launching when the policy file cannot be written', async () => {
      const world = make();
      const deps = (world.controller as unknown as { deps: ControllerDeps }).deps;
      deps.writePolicy = async () => {
        throw new Error('EACCES: permission denied');
      };
      await world.controller.start();
      assert.equal(world.launches.length, 0);
      assert.equal(world.controller.current.state, 'error');
      assert.equal(world.controller.current.message, 'The gateway could not be started: EACCES: permission denied');
      assert.deepEqual(world.failed, [world.controller.current.message]);
    });
  });

  describe('a gateway already on the port', () => {
    it('attaches to a Deja gateway without launching one', async () => {
      const world = make();
      world.ports.set(PORT, { kind: 'deja', health: health(777, '/shared/data') });
      await world.controller.start();
      assert.equal(world.launches.length, 0);
      assert.deepEqual(world.controller.current, { state: 'attached', url: `http://127.0.0.1:${PORT}`, message: null, owned: false });
      assert.equal(world.controller.dataDir, '/shared/data');
      assert.equal(world.controller.health?.pid, 777);
      await world.controller.start();
      assert.equal(world.launches.length, 0, 'start is a no-op once attached');
    });

    it('keeps watching the attached gateway, and takes over when it goes away', async () => {
      const world = make();
      world.ports.set(PORT, { kind: 'deja', health: health(777) });
      await world.controller.start();
      const probes = world.probes.length;
      await world.clock.advance(5000);
      assert.equal(world.probes.length, probes + 1);
      assert.equal(world.controller.current.state, 'attached');
      await world.clock.advance(5000);
      assert.equal(world.probes.length, probes + 2);

      world.ports.delete(PORT);
      await world.clock.advance(5000);
      assert.equal(world.launches.length, 1);
      assert.deepEqual(world.controller.current, { state: 'running', url: `http://127.0.0.1:${PORT}`, message: null, owned: true });
      assert.equal(world.controller.dataDir, `/data/${PORT}`);
      assert.deepEqual(
        world.statuses.map((status) => status.state),
        ['starting', 'attached', 'off', 'starting', 'running'],
      );
    });

    it('goes to error and asks for another port when another program holds it', async () => {
      const world = make();
      world.ports.set(PORT, { kind: 'other', detail: 'it answered 404 to GET /health' });
      await world.controller.start();
      assert.equal(world.launches.length, 0);
      assert.deepEqual(world.portTaken, [{ port: PORT, detail: 'it answered 404 to GET /health' }]);
      assert.deepEqual(world.controller.current, {
        state: 'error',
        url: null,
        message: `Port ${PORT} is used by another program (it answered 404 to GET /health).`,
        owned: false,
      });
      assert.ok(world.logger.lines.some((line) => line.level === 'warn' && line.message.startsWith(`Port ${PORT} is used`)));
      assert.deepEqual(world.failed, []);
    });

    it('uses the port chosen instead once the setting changes', async () => {
      const world = make();
      world.ports.set(PORT, { kind: 'other', detail: 'it accepted the connection but did not answer' });
      world.answerPortTaken(PORT + 1);
      await world.controller.start();
      assert.equal(world.controller.current.state, 'error');
      assert.ok(!world.logger.lines.some((line) => line.level === 'warn'), 'a chosen port is not a warning');
      // What the extension's settings listener does: the setting now holds the chosen port, and it starts again.
      world.setSettings({ port: PORT + 1 });
      await world.controller.start();
      assert.equal(world.launches.length, 1);
      assert.equal(world.launches[0]!.port, PORT + 1);
      assert.deepEqual(world.controller.current, { state: 'running', url: `http://127.0.0.1:${PORT + 1}`, message: null, owned: true });
    });
  });

  describe('crashes', () => {
    it('restarts after the backoff delay and tells the user once per streak', async () => {
      const world = make();
      let child = await startRunning(world);
      for (const [index, delay] of [1000, 2000, 4000].entries()) {
        child.exit(1);
        await settle();
        assert.equal(world.controller.current.state, 'starting');
        assert.equal(world.controller.current.message, `The gateway stopped unexpectedly (exit code 1); restarting in ${delay / 1000} s.`);
        assert.deepEqual(world.clock.delays(), [delay]);
        await world.clock.advance(delay - 1);
        assert.equal(world.launches.length, index + 1, `relaunched before ${delay} ms`);
        await world.clock.advance(1);
        assert.equal(world.launches.length, index + 2);
        assert.equal(world.controller.current.state, 'running');
        child = world.child;
      }
      assert.equal(world.crashed.length, 1);
      assert.match(world.crashed[0]!, /restarting in 1 s/);
      assert.equal(world.logger.lines.filter((line) => line.level === 'warn').length, 3, 'every crash is logged');
    });

    it('names the signal that killed the gateway', async () => {
      const world = make();
      const child = await startRunning(world);
      child.exit(null, 'SIGKILL');
      await settle();
      assert.equal(world.controller.current.message, 'The gateway stopped unexpectedly (killed by SIGKILL); restarting in 1 s.');
    });

    it('caps the delay at the last backoff step', async () => {
      const world = make();
      for (let crash = 0; crash < BACKOFF_MS.length + 2; crash++) {
        if (crash === 0) await startRunning(world);
        world.child.exit(null, 'SIGSEGV');
        await settle();
        const expected = BACKOFF_MS[Math.min(crash, BACKOFF_MS.length - 1)]!;
        assert.deepEqual(world.clock.delays(), [expected], `crash ${crash + 1}`);
        await world.clock.advance(expected);
        assert.equal(world.controller.current.state, 'running');
      }
      assert.equal(BACKOFF_MS.at(-1), 30_000);
      assert.equal(world.crashed.length, 1);
    });

    it('starts a new streak after a minute of running', async () => {
      const world = make();
      await startRunning(world);
      world.child.exit(1);
      await world.clock.advance(1000);
      world.child.exit(1);
      await settle();
      assert.deepEqual(world.clock.delays(), [2000]);
      await world.clock.advance(2000);
      await world.clock.advance(60_001);
      world.child.exit(1);
      await settle();
      assert.deepEqual(world.clock.delays(), [1000], 'the backoff starts over');
      assert.equal(world.crashed.length, 2, 'the new streak is told');
    });

    it('start() during the backoff restarts at once, without a second launch later', async () => {
      const world = make();
      await startRunning(world);
      world.child.exit(1);
      await settle();
      await world.controller.start();
      assert.equal(world.launches.length, 2);
      assert.equal(world.controller.current.state, 'running');
      assert.equal(world.clock.size, 0, 'the restart timer is cancelled');
      await world.clock.advance(60_000);
      assert.equal(world.launches.length, 2);
    });
  });

  describe('stopping', () => {
    it('stops an owned gateway with SIGTERM and does not restart it', async () => {
      const world = make();
      const child = await startRunning(world);
      await world.controller.stop();
      assert.deepEqual(child.kills, ['SIGTERM']);
      assert.ok(child.exited);
      assert.deepEqual(world.controller.current, { state: 'off', url: null, message: null, owned: false });
      await world.clock.advance(60_000);
      assert.equal(world.launches.length, 1);
      assert.deepEqual(world.crashed, []);
    });

    it('sends SIGKILL when the gateway ignores SIGTERM for 5 s', async () => {
      const world = make();
      const child = await startRunning(world);
      child.exitsOn = (signal) => signal === 'SIGKILL';
      let done = false;
      const stopped = world.controller.stop().then(() => (done = true));
      await world.clock.advance(4999);
      assert.deepEqual(child.kills, ['SIGTERM']);
      assert.equal(done, false);
      await world.clock.advance(1);
      await stopped;
      assert.deepEqual(child.kills, ['SIGTERM', 'SIGKILL']);
      assert.equal(world.controller.current.state, 'off');
      assert.equal(world.clock.size, 0);
    });

    it('leaves an attached gateway running and stops watching it', async () => {
      const world = make();
      world.ports.set(PORT, { kind: 'deja', health: health(777) });
      await world.controller.start();
      await world.controller.stop();
      assert.equal(world.controller.current.state, 'off');
      assert.equal(world.launches.length, 0);
      assert.equal(world.clock.size, 0, 'the attach poll is cancelled');
      const probes = world.probes.length;
      await world.clock.advance(60_000);
      assert.equal(world.probes.length, probes);
      assert.deepEqual(world.ports.get(PORT), { kind: 'deja', health: health(777) });
    });

    it('cancels a pending crash restart', async () => {
      const world = make();
      await startRunning(world);
      world.child.exit(1);
      await settle();
      await world.controller.stop();
      assert.equal(world.controller.current.state, 'off');
      await world.clock.advance(60_000);
      assert.equal(world.launches.length, 1);
    });

    it('stops a gateway that is still starting, rather than leaving it running', async () => {
      const world = make({ onLaunch: () => {} });
      void world.controller.start();
      await settle();
      const child = world.child;
      const stopped = world.controller.stop();
      await world.clock.advance(200);
      await stopped;
      assert.deepEqual(child.kills, ['SIGTERM']);
      assert.ok(child.exited);
      assert.equal(world.controller.current.state, 'off');
      assert.deepEqual(world.failed, [], 'a stop is not a failure');
    });

    it('restarting while starting launches a fresh gateway instead of attaching to the old one', async () => {
      let first = true;
      const world = make({
        onLaunch: (launch, ports) => {
          // The first child gets healthy only after the restart began.
          if (first) {
            first = false;
            return;
          }
          ports.set(launch.port, { kind: 'deja', health: health(launch.child.pid, '/data') });
        },
      });
      void world.controller.start();
      await settle();
      const old = world.child;
      const restarted = world.controller.restart();
      await world.clock.advance(200);
      await restarted;
      assert.ok(old.exited, 'the first child is ended');
      assert.equal(world.launches.length, 2);
      assert.deepEqual(world.controller.current, { state: 'running', url: `http://127.0.0.1:${PORT}`, message: null, owned: true });
    });

    it('does not hang when a starting gateway dies of a signal while stopping', async () => {
      const world = make({ onLaunch: () => {} });
      void world.controller.start();
      await settle();
      const child = world.child;
      const stopped = world.controller.stop();
      child.exit(null, 'SIGSEGV');
      await world.clock.advance(200);
      await stopped;
      assert.deepEqual(child.kills, []);
      assert.equal(world.controller.current.state, 'off');
    });

    it('neither attaches nor launches when stopped while probing the port', async () => {
      const world = make();
      const release = world.holdProbes();
      void world.controller.start();
      await settle();
      const stopped = world.controller.stop();
      release();
      await stopped;
      assert.equal(world.launches.length, 0);
      assert.equal(world.controller.current.state, 'off');
      assert.equal(world.clock.size, 0);
    });

    it('restart stops the owned child and launches a new one', async () => {
      const world = make();
      const first = await startRunning(world);
      await world.controller.restart();
      assert.deepEqual(first.kills, ['SIGTERM']);
      assert.equal(world.launches.length, 2);
      assert.notEqual(world.child, first);
      assert.equal(world.controller.current.state, 'running');
      assert.equal(world.controller.health?.pid, world.child.pid);
    });

    it('dispose stops what this window started', async () => {
      const world = make();
      const child = await startRunning(world);
      await world.controller.dispose();
      assert.deepEqual(child.kills, ['SIGTERM']);
      assert.equal(world.controller.current.state, 'off');
    });

    it('stops telling listeners once they unsubscribe', async () => {
      const world = make();
      const seen: string[] = [];
      const unsubscribe = world.controller.onDidChange((status) => void seen.push(status.state));
      await world.controller.start();
      unsubscribe();
      await world.controller.stop();
      assert.deepEqual(seen, ['starting', 'running']);
    });
  });
});
