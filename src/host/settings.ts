import type { PatternRule, PolicyOverrides } from '../core/policy/policyTypes';
import type { AnswerJudgeDto, GatewayStatusDto } from '../shared/protocol';

/**
 * The extension's settings, typed to mirror `contributes.configuration` in
 * package.json. Read through one function from any getter, so the same code
 * serves VS Code's configuration and the unit tests.
 */
export interface DejaSettings {
  autoStart: boolean;
  upstreamUrl: string;
  port: number;
  ttlSeconds: number;
  dataDirectory: string;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** Mask the clock, date, cost and port values in tools' boilerplate in cache keys. */
  normalizeVolatile: boolean;
  semantic: {
    enabled: boolean;
    /** verified: a learned bound on wrong answers; static: the threshold. */
    mode: 'verified' | 'static';
    /** Verified: the chance of a wrong answer a semantic hit may carry, at most. */
    maxFalseHitRate: number;
    answerJudge: AnswerJudgeDto;
    threshold: number;
    embeddingModel: string;
    embeddingDtype: 'q8' | 'fp32';
  };
  /** The team tier: a Redis URL ('' for none) and the team namespace in it. */
  team: { sharedStore: string; name: string };
  policy: {
    highTemperature: { enabled: boolean; maxTemperature: number; absentTemperature: number };
    codeGeneration: { enabled: boolean; fillInTheMiddle: boolean };
    timeSensitive: { enabled: boolean };
    personalized: { enabled: boolean; userField: boolean };
    financial: { enabled: boolean };
    /** Extra patterns per reason, as a team writes them. */
    extraPatterns: Partial<Record<'codeGeneration' | 'timeSensitive' | 'personalized' | 'financial', PatternRule[]>>;
  };
}

export const DEFAULT_SETTINGS: DejaSettings = {
  autoStart: true,
  upstreamUrl: 'http://127.0.0.1:8000/v1',
  port: 8787,
  ttlSeconds: 3600,
  dataDirectory: '',
  logLevel: 'info',
  normalizeVolatile: true,
  semantic: {
    enabled: true,
    mode: 'verified',
    maxFalseHitRate: 0.02,
    answerJudge: 'embedding',
    threshold: 0.95,
    embeddingModel: 'Xenova/paraphrase-multilingual-MiniLM-L12-v2',
    embeddingDtype: 'q8',
  },
  team: { sharedStore: '', name: 'default' },
  policy: {
    highTemperature: { enabled: true, maxTemperature: 0.8, absentTemperature: 0 },
    codeGeneration: { enabled: true, fillInTheMiddle: true },
    timeSensitive: { enabled: true },
    personalized: { enabled: true, userField: false },
    financial: { enabled: true },
    extraPatterns: {},
  },
};

/** Reads a setting by dotted key under `deja.`; undefined when unset. */
export type SettingGetter = (key: string) => unknown;

const bool = (value: unknown, fallback: boolean) => (typeof value === 'boolean' ? value : fallback);
const num = (value: unknown, fallback: number, min: number, max: number) =>
  typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max ? value : fallback;
const str = (value: unknown, fallback: string) => (typeof value === 'string' ? value.trim() : fallback);

const strings = (value: unknown) => value === undefined || (Array.isArray(value) && value.every((item) => typeof item === 'string'));

/** The well-formed rules; one with a field of the wrong kind is dropped (the gateway would refuse it). */
function patterns(value: unknown): PatternRule[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (rule): rule is PatternRule =>
      typeof rule === 'object' &&
      rule !== null &&
      typeof rule.id === 'string' &&
      typeof rule.pattern === 'string' &&
      strings(rule.unless) &&
      strings(rule.requires) &&
      (rule.caseSensitive === undefined || typeof rule.caseSensitive === 'boolean'),
  );
}

/** The settings, each value checked and replaced by its default when it is not of the right kind. */
export function readSettings(get: SettingGetter): DejaSettings {
  const d = DEFAULT_SETTINGS;
  const levels = ['error', 'warn', 'info', 'debug'] as const;
  const level = get('logLevel');
  const dtype = get('semantic.embeddingDtype');
  const mode = get('semantic.mode');
  const judge = get('semantic.answerJudge');
  const extra = (get('policy.extraPatterns') ?? {}) as Record<string, unknown>;
  return {
    autoStart: bool(get('autoStart'), d.autoStart),
    upstreamUrl: str(get('upstreamUrl'), d.upstreamUrl) || d.upstreamUrl,
    port: Math.round(num(get('port'), d.port, 1, 65535)),
    ttlSeconds: Math.round(num(get('ttlSeconds'), d.ttlSeconds, 1, 10 * 365 * 86_400)),
    dataDirectory: str(get('dataDirectory'), d.dataDirectory),
    logLevel: (levels as readonly unknown[]).includes(level) ? (level as DejaSettings['logLevel']) : d.logLevel,
    normalizeVolatile: bool(get('normalizeVolatile'), d.normalizeVolatile),
    semantic: {
      enabled: bool(get('semantic.enabled'), d.semantic.enabled),
      mode: mode === 'verified' || mode === 'static' ? mode : d.semantic.mode,
      maxFalseHitRate: num(get('semantic.maxFalseHitRate'), d.semantic.maxFalseHitRate, 0.001, 0.49),
      answerJudge: judge === 'embedding' || judge === 'exact' || judge === 'llm' ? judge : d.semantic.answerJudge,
      threshold: num(get('semantic.threshold'), d.semantic.threshold, 0, 1),
      embeddingModel: str(get('semantic.embeddingModel'), d.semantic.embeddingModel) || d.semantic.embeddingModel,
      embeddingDtype: dtype === 'fp32' || dtype === 'q8' ? dtype : d.semantic.embeddingDtype,
    },
    team: {
      sharedStore: str(get('team.sharedStore'), d.team.sharedStore),
      name: str(get('team.name'), d.team.name) || d.team.name,
    },
    policy: {
      highTemperature: {
        enabled: bool(get('policy.highTemperature.enabled'), d.policy.highTemperature.enabled),
        maxTemperature: num(get('policy.highTemperature.maxTemperature'), d.policy.highTemperature.maxTemperature, 0, 2),
        absentTemperature: num(get('policy.highTemperature.absentTemperature'), d.policy.highTemperature.absentTemperature, 0, 2),
      },
      codeGeneration: {
        enabled: bool(get('policy.codeGeneration.enabled'), d.policy.codeGeneration.enabled),
        fillInTheMiddle: bool(get('policy.codeGeneration.fillInTheMiddle'), d.policy.codeGeneration.fillInTheMiddle),
      },
      timeSensitive: { enabled: bool(get('policy.timeSensitive.enabled'), d.policy.timeSensitive.enabled) },
      personalized: {
        enabled: bool(get('policy.personalized.enabled'), d.policy.personalized.enabled),
        userField: bool(get('policy.personalized.userField'), d.policy.personalized.userField),
      },
      financial: { enabled: bool(get('policy.financial.enabled'), d.policy.financial.enabled) },
      extraPatterns: {
        codeGeneration: patterns(extra.codeGeneration),
        timeSensitive: patterns(extra.timeSensitive),
        personalized: patterns(extra.personalized),
        financial: patterns(extra.financial),
      },
    },
  };
}

/** The policy file the gateway is started with. */
export function policyOverrides(settings: DejaSettings): PolicyOverrides {
  const { policy } = settings;
  return {
    highTemperature: policy.highTemperature,
    codeGeneration: { ...policy.codeGeneration, extraPatterns: policy.extraPatterns.codeGeneration ?? [] },
    timeSensitive: { ...policy.timeSensitive, extraPatterns: policy.extraPatterns.timeSensitive ?? [] },
    personalized: { ...policy.personalized, extraPatterns: policy.extraPatterns.personalized ?? [] },
    financial: { ...policy.financial, extraPatterns: policy.extraPatterns.financial ?? [] },
  };
}

/** The `deja serve` flags for these settings. */
export function serveArguments(settings: DejaSettings, dataDir: string, policyFile: string): string[] {
  return [
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    String(settings.port),
    '--upstream',
    settings.upstreamUrl,
    '--data',
    dataDir,
    '--ttl',
    String(settings.ttlSeconds),
    '--log-level',
    settings.logLevel,
    '--normalize-volatile',
    settings.normalizeVolatile ? 'on' : 'off',
    '--semantic',
    settings.semantic.enabled ? 'on' : 'off',
    '--semantic-mode',
    settings.semantic.mode,
    '--max-false-hit-rate',
    String(settings.semantic.maxFalseHitRate),
    '--answer-judge',
    settings.semantic.answerJudge,
    '--semantic-threshold',
    String(settings.semantic.threshold),
    '--embedding-model',
    settings.semantic.embeddingModel,
    '--embedding-dtype',
    settings.semantic.embeddingDtype,
    '--policy',
    policyFile,
    // The shared store's URL goes in the environment (it may carry a password; arguments are public in `ps`).
    ...(settings.team.sharedStore ? ['--team', settings.team.name] : []),
  ];
}

/** The environment `deja serve` gets beside its arguments: the secrets. The gateway checks their values. */
export function serveEnvironment(settings: DejaSettings, upstreamApiKey: string | undefined): Record<string, string> {
  return {
    ...(upstreamApiKey ? { DEJA_UPSTREAM_API_KEY: upstreamApiKey } : {}),
    ...(settings.team.sharedStore ? { DEJA_SHARED_STORE: settings.team.sharedStore } : {}),
  };
}

/** Whether a running gateway must restart for new settings to apply (autoStart alone does not). */
export function needsRestart(before: DejaSettings, after: DejaSettings): boolean {
  const { autoStart: _a, ...restBefore } = before;
  const { autoStart: _b, ...restAfter } = after;
  return JSON.stringify(restBefore) !== JSON.stringify(restAfter);
}

/**
 * What a settings change asks of the gateway: a restart of one this window owns,
 * a new start of one that failed (the change may be the fix) or of one that is
 * off while autoStart is on; otherwise nothing.
 */
export function settingsChangeAction(
  before: DejaSettings,
  after: DejaSettings,
  gateway: Pick<GatewayStatusDto, 'state' | 'owned'>,
): 'restart' | 'start' | undefined {
  const restart = needsRestart(before, after);
  if (restart && gateway.owned) return 'restart';
  if (restart && gateway.state === 'error') return 'start';
  if (after.autoStart && gateway.state === 'off') return 'start';
  return undefined;
}

/** Where the settings come from: VS Code's configuration in the extension, a stand-in in the tests. */
export interface SettingsSource {
  read(): DejaSettings;
  /** Calls the listener when a `deja.` setting may have changed. */
  onDidChange(listener: () => void): { dispose(): void };
}

/** The part of the gateway controller a settings change acts on. */
export interface RestartableGateway {
  readonly current: GatewayStatusDto;
  start(): Promise<void>;
  restart(): Promise<void>;
}

/** A burst of changes (typing in the settings editor, a synced settings.json) acts once, this long after the last. */
export const SETTINGS_DEBOUNCE_MS = 300;

/** Live reload: applies changed settings to the gateway (see settingsChangeAction), once per burst of changes. */
export function watchSettings(
  gateway: RestartableGateway,
  source: SettingsSource,
  timers: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout } = { setTimeout, clearTimeout },
): { dispose(): void } {
  let settings = source.read();
  let pending: NodeJS.Timeout | undefined;
  const subscription = source.onDidChange(() => {
    if (pending) timers.clearTimeout(pending);
    pending = timers.setTimeout(() => {
      pending = undefined;
      const next = source.read();
      const action = settingsChangeAction(settings, next, gateway.current);
      settings = next;
      if (action === 'restart') void gateway.restart();
      else if (action === 'start') void gateway.start();
    }, SETTINGS_DEBOUNCE_MS);
  });
  return {
    dispose: () => {
      subscription.dispose();
      if (pending) timers.clearTimeout(pending);
      pending = undefined;
    },
  };
}
