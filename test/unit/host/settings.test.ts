import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_SETTINGS,
  needsRestart,
  policyOverrides,
  readSettings,
  serveArguments,
  serveEnvironment,
  settingsChangeAction,
  SETTINGS_DEBOUNCE_MS,
  watchSettings,
  type DejaSettings,
} from '../../../src/host/settings';
import type { GatewayStatusDto } from '../../../src/shared/protocol';
import { FakeClock } from './fakes';

const ROOT = join(__dirname, '..', '..', '..');

interface ConfigProperty {
  type: string;
  default: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  contributes: { commands: Array<{ command: string }>; configuration: Array<{ properties: Record<string, ConfigProperty> }> };
};
const PROPERTIES: Record<string, ConfigProperty> = Object.assign(
  {},
  ...manifest.contributes.configuration.map((section) => section.properties),
);

/** A getter over a flat map of dotted keys, as VS Code's configuration answers. */
const from =
  (values: Record<string, unknown>) =>
  (key: string): unknown =>
    values[key];

/** The value at a dotted path of an object. */
function at(object: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((value, part) => (value as Record<string, unknown> | undefined)?.[part], object);
}

/** Every key readSettings asks for. */
function keysRead(): string[] {
  const keys: string[] = [];
  readSettings((key) => {
    keys.push(key);
    return undefined;
  });
  return keys;
}

const NO_EXTRA = { codeGeneration: [], timeSensitive: [], personalized: [], financial: [] };
/** What readSettings returns when nothing is set: the defaults, with every extra-pattern list present and empty. */
const UNSET: DejaSettings = { ...DEFAULT_SETTINGS, policy: { ...DEFAULT_SETTINGS.policy, extraPatterns: NO_EXTRA } };

describe('host settings', () => {
  describe('readSettings', () => {
    it('returns the defaults when nothing is set', () => {
      assert.deepEqual(
        readSettings(() => undefined),
        UNSET,
      );
    });

    it('keeps every value of the right kind', () => {
      const rule = { id: 'payroll', pattern: '\\bpayroll\\b', unless: ['game'], caseSensitive: true, requires: ['now'] };
      const settings = readSettings(
        from({
          autoStart: false,
          upstreamUrl: 'https://gpu.example:8443/v1',
          port: 9001,
          ttlSeconds: 60,
          dataDirectory: '/srv/deja',
          logLevel: 'debug',
          normalizeVolatile: false,
          'semantic.enabled': false,
          'semantic.mode': 'static',
          'semantic.maxFalseHitRate': 0.05,
          'semantic.answerJudge': 'exact',
          'semantic.threshold': 0.9,
          'semantic.embeddingModel': '/models/minilm',
          'semantic.embeddingDtype': 'fp32',
          'team.sharedStore': 'redis://cache.internal:6379',
          'team.name': 'platform',
          'policy.highTemperature.enabled': false,
          'policy.highTemperature.maxTemperature': 1.5,
          'policy.highTemperature.absentTemperature': 1,
          'policy.codeGeneration.enabled': false,
          'policy.codeGeneration.fillInTheMiddle': false,
          'policy.timeSensitive.enabled': false,
          'policy.personalized.enabled': false,
          'policy.personalized.userField': true,
          'policy.financial.enabled': false,
          'policy.extraPatterns': { financial: [rule] },
        }),
      );
      assert.deepEqual(settings, {
        autoStart: false,
        upstreamUrl: 'https://gpu.example:8443/v1',
        port: 9001,
        ttlSeconds: 60,
        dataDirectory: '/srv/deja',
        logLevel: 'debug',
        normalizeVolatile: false,
        semantic: {
          enabled: false,
          mode: 'static',
          maxFalseHitRate: 0.05,
          answerJudge: 'exact',
          threshold: 0.9,
          embeddingModel: '/models/minilm',
          embeddingDtype: 'fp32',
        },
        team: { sharedStore: 'redis://cache.internal:6379', name: 'platform' },
        policy: {
          highTemperature: { enabled: false, maxTemperature: 1.5, absentTemperature: 1 },
          codeGeneration: { enabled: false, fillInTheMiddle: false },
          timeSensitive: { enabled: false },
          personalized: { enabled: false, userField: true },
          financial: { enabled: false },
          extraPatterns: { ...NO_EXTRA, financial: [rule] },
        },
      });
    });

    it('replaces a wrong-typed value of any setting by its default, leaving the others alone', () => {
      const wrong: Record<string, unknown[]> = {
        boolean: ['true', 1, null, {}],
        number: ['0.5', Number.NaN, Number.POSITIVE_INFINITY, true, null],
        integer: ['8080', Number.NaN, Number.NEGATIVE_INFINITY, false, []],
        string: [42, true, null, ['x'], {}],
        object: ['x', 7, true],
      };
      for (const [name, property] of Object.entries(PROPERTIES)) {
        const key = name.slice('deja.'.length);
        const values = wrong[property.type];
        assert.ok(values, `no wrong values for type ${property.type} (${name})`);
        for (const value of values) {
          const settings = readSettings(from({ [key]: value }));
          assert.deepEqual(at(settings, key), at(UNSET, key), `${name} = ${JSON.stringify(value)}`);
          assert.deepEqual(settings, UNSET, `${name} = ${JSON.stringify(value)} changed another setting`);
        }
      }
    });

    it('falls back on numbers out of range, and rounds the whole-number ones', () => {
      const read = (key: string, value: unknown) => at(readSettings(from({ [key]: value })), key);
      assert.equal(read('port', 0), 8787);
      assert.equal(read('port', -5), 8787);
      assert.equal(read('port', 65536), 8787);
      assert.equal(read('port', 1), 1);
      assert.equal(read('port', 65535), 65535);
      assert.equal(read('port', 8080.4), 8080);
      assert.equal(read('port', 8080.6), 8081);
      assert.equal(read('ttlSeconds', 0), 3600);
      assert.equal(read('ttlSeconds', 0.4), 3600);
      assert.equal(read('ttlSeconds', 10 * 365 * 86_400), 10 * 365 * 86_400);
      assert.equal(read('ttlSeconds', 10 * 365 * 86_400 + 1), 3600);
      assert.equal(read('semantic.threshold', 0), 0);
      assert.equal(read('semantic.threshold', 1), 1);
      assert.equal(read('semantic.threshold', 1.01), 0.95);
      assert.equal(read('semantic.threshold', -0.1), 0.95);
      assert.equal(read('policy.highTemperature.maxTemperature', 2), 2);
      assert.equal(read('policy.highTemperature.maxTemperature', 2.1), 0.8);
      assert.equal(read('policy.highTemperature.absentTemperature', -1), 0);
    });

    it('honours each minimum and maximum package.json declares', () => {
      for (const [name, property] of Object.entries(PROPERTIES)) {
        const key = name.slice('deja.'.length);
        const step = property.type === 'integer' ? 1 : 0.001;
        const read = (value: number) => at(readSettings(from({ [key]: value })), key);
        if (property.minimum !== undefined) {
          assert.equal(read(property.minimum), property.minimum, `${name} at its minimum`);
          assert.equal(read(property.minimum - step), property.default, `${name} below its minimum`);
        }
        if (property.maximum !== undefined) {
          assert.equal(read(property.maximum), property.maximum, `${name} at its maximum`);
          assert.equal(read(property.maximum + step), property.default, `${name} above its maximum`);
        }
      }
    });

    it('accepts exactly the choices package.json offers for logLevel and embeddingDtype', () => {
      for (const key of ['logLevel', 'semantic.embeddingDtype']) {
        const property = PROPERTIES[`deja.${key}`]!;
        assert.ok(property.enum?.length, `deja.${key} has an enum`);
        for (const choice of property.enum!) assert.equal(at(readSettings(from({ [key]: choice })), key), choice);
        for (const other of ['INFO', 'verbose', 'fp16', 'int8', '']) {
          if (property.enum!.includes(other)) continue;
          assert.equal(at(readSettings(from({ [key]: other })), key), property.default, `${key} = ${other}`);
        }
      }
    });

    it('trims strings, and an empty URL or model falls back while an empty data directory stays empty', () => {
      const settings = readSettings(
        from({ upstreamUrl: '  http://gpu:8000/v1 \n', 'semantic.embeddingModel': '   ', dataDirectory: '  /tmp/deja  ' }),
      );
      assert.equal(settings.upstreamUrl, 'http://gpu:8000/v1');
      assert.equal(settings.semantic.embeddingModel, DEFAULT_SETTINGS.semantic.embeddingModel);
      assert.equal(settings.dataDirectory, '/tmp/deja');
      assert.equal(readSettings(from({ upstreamUrl: '' })).upstreamUrl, DEFAULT_SETTINGS.upstreamUrl);
      assert.equal(readSettings(from({ dataDirectory: '   ' })).dataDirectory, '');
    });

    it('keeps only well-formed extra patterns, per reason', () => {
      const good = { id: 'a', pattern: 'x' };
      const settings = readSettings(
        from({
          'policy.extraPatterns': {
            codeGeneration: [good, null, 'x', 3, { id: 1, pattern: 'x' }, { id: 'b' }, { pattern: 'x' }],
            timeSensitive: 'not a list',
            personalized: [
              { id: 'c', pattern: 'y', unless: 'z' },
              { id: 'd', pattern: 'y', unless: [1] },
              { id: 'e', pattern: 'y', unless: ['ok'] },
            ],
            financial: [
              { id: 'f', pattern: 'y', caseSensitive: 'yes' },
              { id: 'g', pattern: 'y', requires: 'now' },
              { id: 'h', pattern: 'y', caseSensitive: false },
            ],
            unknownReason: [good],
          },
        }),
      );
      assert.deepEqual(settings.policy.extraPatterns, {
        codeGeneration: [good],
        timeSensitive: [],
        personalized: [{ id: 'e', pattern: 'y', unless: ['ok'] }],
        financial: [{ id: 'h', pattern: 'y', caseSensitive: false }],
      });
      assert.deepEqual(readSettings(from({ 'policy.extraPatterns': null })).policy.extraPatterns, NO_EXTRA);
      assert.deepEqual(readSettings(from({ 'policy.extraPatterns': [good] })).policy.extraPatterns, NO_EXTRA);
    });
  });

  describe('package.json', () => {
    it('declares every setting readSettings reads, with the same default', () => {
      const keys = keysRead();
      assert.ok(keys.length >= 20, `only ${keys.length} keys read`);
      for (const key of keys) {
        const property = PROPERTIES[`deja.${key}`];
        assert.ok(property, `package.json has no deja.${key}`);
        assert.deepEqual(property.default, at(DEFAULT_SETTINGS, key), `deja.${key}: package.json default differs from DEFAULT_SETTINGS`);
      }
    });

    it('declares no setting that readSettings ignores', () => {
      const keys = new Set(keysRead());
      for (const name of Object.keys(PROPERTIES)) {
        assert.ok(name.startsWith('deja.'), `${name} is outside the deja section`);
        assert.ok(keys.has(name.slice('deja.'.length)), `${name} is declared but never read`);
      }
    });

    it("reads package.json's defaults back as DejaSettings' defaults", () => {
      assert.deepEqual(
        readSettings((key) => PROPERTIES[`deja.${key}`]?.default),
        UNSET,
      );
    });

    it('contributes exactly the commands src/host/commands.ts registers, each as a string literal', () => {
      const source = readFileSync(join(ROOT, 'src', 'host', 'commands.ts'), 'utf8');
      const registered = [...source.matchAll(/\bregister\(\s*'([^']+)'/g)].map((match) => match[1]!);
      // Every register( call takes a literal id, and registerCommand is reached only through register.
      const calls = [...source.matchAll(/\bregister\(/g)].length;
      assert.equal(registered.length, calls, 'a command is registered with a non-literal id');
      assert.equal([...source.matchAll(/registerCommand\(/g)].length, 1, 'registerCommand is called outside the register helper');
      assert.equal(new Set(registered).size, registered.length, `a command is registered twice: ${registered.join(', ')}`);
      const contributed = manifest.contributes.commands.map((command) => command.command);
      assert.equal(new Set(contributed).size, contributed.length, 'a command is contributed twice');
      assert.deepEqual([...registered].sort(), [...contributed].sort());
    });

    it('points the status bar at a contributed command', () => {
      const source = readFileSync(join(ROOT, 'src', 'host', 'statusBar.ts'), 'utf8');
      const commands = [...source.matchAll(/\.command\s*=\s*'([^']+)'/g)].map((match) => match[1]!);
      assert.ok(commands.length > 0);
      const contributed = new Set(manifest.contributes.commands.map((command) => command.command));
      for (const command of commands) assert.ok(contributed.has(command), `${command} is not contributed`);
    });
  });

  describe('policyOverrides', () => {
    it('maps each rule and its extra patterns to the policy file shape', () => {
      const rule = { id: 'payroll', pattern: 'payroll' };
      const settings = readSettings(
        from({
          'policy.highTemperature.maxTemperature': 1.2,
          'policy.personalized.userField': true,
          'policy.extraPatterns': { financial: [rule] },
        }),
      );
      assert.deepEqual(policyOverrides(settings), {
        highTemperature: { enabled: true, maxTemperature: 1.2, absentTemperature: 0 },
        codeGeneration: { enabled: true, fillInTheMiddle: true, extraPatterns: [] },
        timeSensitive: { enabled: true, extraPatterns: [] },
        personalized: { enabled: true, userField: true, extraPatterns: [] },
        financial: { enabled: true, extraPatterns: [rule] },
      });
    });

    it('gives empty extra patterns for reasons the settings leave out', () => {
      const overrides = policyOverrides(DEFAULT_SETTINGS);
      assert.deepEqual(overrides.codeGeneration?.extraPatterns, []);
      assert.deepEqual(overrides.financial?.extraPatterns, []);
      // JSON round trip, as the policy file is written.
      assert.deepEqual(JSON.parse(JSON.stringify(overrides)), overrides);
    });
  });

  describe('serveArguments', () => {
    it('passes every gateway setting as a flag, on loopback', () => {
      assert.deepEqual(serveArguments(DEFAULT_SETTINGS, '/data', '/data/policy.json'), [
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        '8787',
        '--upstream',
        'http://127.0.0.1:8000/v1',
        '--data',
        '/data',
        '--ttl',
        '3600',
        '--log-level',
        'info',
        '--normalize-volatile',
        'on',
        '--semantic',
        'on',
        '--semantic-mode',
        'verified',
        '--max-false-hit-rate',
        '0.02',
        '--answer-judge',
        'embedding',
        '--semantic-threshold',
        '0.95',
        '--embedding-model',
        'Xenova/paraphrase-multilingual-MiniLM-L12-v2',
        '--embedding-dtype',
        'q8',
        '--policy',
        '/data/policy.json',
      ]);
    });

    it('follows the settings', () => {
      const settings = readSettings(
        from({
          port: 9100,
          upstreamUrl: 'https://gpu/v1',
          ttlSeconds: 5,
          logLevel: 'warn',
          normalizeVolatile: false,
          'semantic.enabled': false,
          'semantic.threshold': 0.9,
          'semantic.embeddingDtype': 'fp32',
        }),
      );
      const args = serveArguments(settings, '/d', '/d/p.json');
      const flag = (name: string) => args[args.indexOf(name) + 1];
      assert.equal(flag('--port'), '9100');
      assert.equal(flag('--upstream'), 'https://gpu/v1');
      assert.equal(flag('--ttl'), '5');
      assert.equal(flag('--log-level'), 'warn');
      assert.equal(flag('--normalize-volatile'), 'off');
      assert.equal(flag('--semantic'), 'off');
      assert.equal(flag('--semantic-threshold'), '0.9');
      assert.equal(flag('--embedding-dtype'), 'fp32');
      assert.equal(flag('--host'), '127.0.0.1');
      assert.ok(args.every((arg) => typeof arg === 'string'));
    });

    it('adds the team tier only when a shared store is set, its URL in the environment rather than the arguments', () => {
      const solo = readSettings(from({ 'team.name': 'platform' }));
      assert.ok(!serveArguments(solo, '/d', '/d/p.json').includes('--team'));
      assert.deepEqual(serveEnvironment(solo, undefined), {});
      const team = readSettings(from({ 'team.sharedStore': ' redis://:s3cret@cache:6379 ', 'team.name': 'platform' }));
      const args = serveArguments(team, '/d', '/d/p.json');
      assert.deepEqual(args.slice(-2), ['--team', 'platform']);
      assert.ok(!args.some((arg) => arg.includes('s3cret')), 'a password in the URL would show in ps');
      assert.deepEqual(serveEnvironment(team, 'sk-up'), {
        DEJA_UPSTREAM_API_KEY: 'sk-up',
        DEJA_SHARED_STORE: 'redis://:s3cret@cache:6379',
      });
      // An empty team name falls back to the default rather than reaching the gateway as "".
      const unnamed = serveArguments(readSettings(from({ 'team.sharedStore': 'redis://cache:6379', 'team.name': ' ' })), '/d', '/d/p.json');
      assert.deepEqual(unnamed.slice(-2), ['--team', 'default']);
    });
  });

  describe('needsRestart', () => {
    const base = readSettings(() => undefined);
    const change = (values: Record<string, unknown>) => readSettings(from(values));

    it('is false for equal settings read twice', () => {
      assert.equal(
        needsRestart(
          base,
          readSettings(() => undefined),
        ),
        false,
      );
      const values = { port: 9000, 'policy.extraPatterns': { financial: [{ id: 'a', pattern: 'b' }] } };
      assert.equal(needsRestart(change(values), change(values)), false);
    });

    it('is false when only autoStart changes', () => {
      assert.equal(needsRestart(base, change({ autoStart: false })), false);
      assert.equal(needsRestart(change({ autoStart: false }), base), false);
    });

    it('is true when anything the gateway runs with changes', () => {
      for (const values of [
        { port: 9000 },
        { upstreamUrl: 'http://other/v1' },
        { ttlSeconds: 10 },
        { dataDirectory: '/elsewhere' },
        { logLevel: 'debug' },
        { 'semantic.threshold': 0.9 },
        { 'semantic.embeddingDtype': 'fp32' },
        { 'team.sharedStore': 'redis://cache:6379' },
        { 'team.name': 'platform' },
        { 'policy.financial.enabled': false },
        { 'policy.highTemperature.absentTemperature': 1 },
        { 'policy.extraPatterns': { timeSensitive: [{ id: 'a', pattern: 'b' }] } },
      ]) {
        assert.equal(needsRestart(base, change(values)), true, JSON.stringify(values));
        assert.equal(needsRestart(base, change({ ...values, autoStart: false })), true, `${JSON.stringify(values)} with autoStart`);
      }
    });
  });

  describe('settingsChangeAction', () => {
    const base = readSettings(() => undefined);
    const moved = { ...base, port: base.port + 1 };
    const manual = { ...base, autoStart: false };
    const status = (state: GatewayStatusDto['state'], owned = false) => ({ state, owned });

    it('restarts a gateway this window owns when something it runs with changed', () => {
      assert.equal(settingsChangeAction(base, moved, status('running', true)), 'restart');
      assert.equal(settingsChangeAction(base, { ...moved, autoStart: false }, status('running', true)), 'restart');
    });

    it('leaves an attached gateway alone: another window or the CLI owns it', () => {
      assert.equal(settingsChangeAction(base, moved, status('attached')), undefined);
    });

    it('starts again after an error when the settings changed (the change may be the fix)', () => {
      assert.equal(settingsChangeAction(base, moved, status('error')), 'start');
      assert.equal(settingsChangeAction(base, base, status('error')), undefined);
    });

    it('starts a stopped gateway when autoStart is on, and not when it is off', () => {
      assert.equal(settingsChangeAction(manual, base, status('off')), 'start');
      assert.equal(settingsChangeAction(base, manual, status('off')), undefined);
      assert.equal(settingsChangeAction(manual, base, status('running', true)), undefined);
    });
  });

  describe('watchSettings', () => {
    function setup(state: GatewayStatusDto['state'], owned: boolean) {
      const clock = new FakeClock();
      const calls: string[] = [];
      let settings = readSettings(() => undefined);
      let listener: (() => void) | undefined;
      const gateway = {
        current: { state, owned, url: null, message: null } as GatewayStatusDto,
        start: async () => void calls.push('start'),
        restart: async () => void calls.push('restart'),
      };
      const source = {
        read: () => settings,
        onDidChange: (fire: () => void) => {
          listener = fire;
          return { dispose: () => (listener = undefined) };
        },
      };
      const watcher = watchSettings(gateway, source, clock);
      const change = (values: Partial<DejaSettings>) => {
        settings = { ...settings, ...values };
        listener?.();
      };
      return { clock, calls, watcher, change, subscribed: () => listener !== undefined };
    }

    it('acts once per burst of changes, after the last one settles', async () => {
      const { clock, calls, change } = setup('running', true);
      change({ port: 9001 });
      await clock.advance(SETTINGS_DEBOUNCE_MS - 1);
      change({ port: 9002 });
      await clock.advance(SETTINGS_DEBOUNCE_MS - 1);
      assert.deepEqual(calls, []);
      await clock.advance(1);
      assert.deepEqual(calls, ['restart']);
    });

    it('compares with the settings last acted on, not those at start', async () => {
      const { clock, calls, change } = setup('running', true);
      change({ port: 9001 });
      await clock.advance(SETTINGS_DEBOUNCE_MS);
      change({ autoStart: false });
      await clock.advance(SETTINGS_DEBOUNCE_MS);
      assert.deepEqual(calls, ['restart']);
    });

    it('unsubscribes and drops a pending change when disposed', async () => {
      const { clock, calls, change, watcher, subscribed } = setup('running', true);
      change({ port: 9001 });
      watcher.dispose();
      assert.equal(subscribed(), false);
      assert.equal(clock.size, 0);
      await clock.advance(SETTINGS_DEBOUNCE_MS);
      assert.deepEqual(calls, []);
    });
  });
});
