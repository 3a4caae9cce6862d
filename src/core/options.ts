import { homedir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { EmbeddingDtype } from './embeddings/embedder';
import type { SemanticMode } from './semantic/decision/semanticDecision';
import type { AnswerJudgeKind } from './semantic/judge/answerJudge';
import type { PolicyOverrides } from './policy/policyTypes';
import { LOG_LEVELS, type LogLevel } from './logger';
import { redisUrlProblem } from './team/redisUrl';
import { ANSWER_JUDGES, SEMANTIC_MODES } from '../shared/protocol';

/** Everything a gateway needs to run; the CLI and the extension both build one. */
export interface GatewayOptions {
  /** Interface to bind; loopback unless the user says otherwise. */
  host: string;
  /** Port to bind; 0 picks a free one. */
  port: number;
  /** The upstream's OpenAI base URL, `/v1` included. */
  upstream: string;
  /** Sent upstream as a bearer token when the client sends no Authorization. */
  upstreamApiKey: string | undefined;
  /** When set, `/v1/*` and `/metrics` answer only requests bearing it (`Authorization: Bearer`). */
  apiToken: string | undefined;
  /** How long to wait for the upstream's headers, and between two chunks of its body. */
  upstreamTimeoutMs: number;
  /** Directory of the database and index files; null keeps everything in memory. */
  dataDir: string | null;
  /** Default lifetime of an entry, in seconds. */
  ttlSeconds: number;
  /** Largest request body accepted. */
  maxBodyBytes: number;
  logLevel: LogLevel;
  /** When false every request is forwarded untouched (`BYPASS`). */
  cachingEnabled: boolean;
  /** The semantic level: similar questions answered from the cache. */
  semantic: boolean;
  /** Cosine similarity a semantic hit needs, 0 to 1 (the static mode, and a request's `x-deja-threshold`). */
  semanticThreshold: number;
  /**
   * How a semantic hit is decided: `verified` serves one only when the chance of a wrong
   * answer is, with 95% confidence, within `maxFalseHitRate`, learned from the upstream's own
   * answers; `static` serves at or above `semanticThreshold`.
   */
  semanticMode: SemanticMode;
  /** Verified: the chance of a wrong answer a served semantic hit may carry, at most (δ). */
  maxFalseHitRate: number;
  /** Verified: below this similarity the nearest stored question is not considered (a plain miss). */
  semanticFloor: number;
  /** How the upstream's answer is compared with a stored one: their embeddings, their text, or the upstream model asked. */
  answerJudge: AnswerJudgeKind;
  /** A Hugging Face model id, or a local directory with config.json, tokenizer.json and onnx/. */
  embeddingModel: string;
  embeddingDtype: EmbeddingDtype;
  /** Whether a model id may be downloaded from the Hugging Face hub on first use. */
  embeddingDownload: boolean;
  /** Where vectors persist: a table in the cache database, or vectra index files. */
  vectorStore: 'sqlite' | 'vectra';
  /** The non-cacheable policy, as overrides of the defaults (rules switched, thresholds, extra patterns). */
  policy: PolicyOverrides;
  /**
   * Mask the values a tool's own boilerplate changes every session (clock, date, cost,
   * ephemeral ports) in the exact key and the semantic partition, so the same question from
   * the same workspace hits in a later session.
   */
  normalizeVolatile: boolean;
  /** Share of hits rechecked against the upstream in the background, to measure staleness. */
  revalidateShare: number;
  /** Answers less similar than this (cosine of their embeddings) count as stale. */
  staleThreshold: number;
  /** How often the upstream's `/metrics` is read; 0 turns it off. */
  vllmMetricsIntervalMs: number;
  /** Request events are kept this long. */
  eventsRetentionDays: number;
  /** A Redis URL for the team tier (shared exact entries and index updates); null keeps the cache on this machine. */
  sharedStore: string | null;
  /** The team namespace in the shared store: gateways share entries only within one. */
  team: string;
  /** How long the team stream keeps index updates, in seconds. */
  sharedRetentionSeconds: number;
}

/** A small multilingual sentence-embedding model (384 dimensions, 50+ languages). */
export const DEFAULT_EMBEDDING_MODEL = 'Xenova/paraphrase-multilingual-MiniLM-L12-v2';
/**
 * The default semantic threshold. It cannot be calibrated on the build machine (no
 * pretrained model is reachable there); it is the conservative prior that peers
 * converge on for MiniLM-class models, to be replaced by the figure
 * `npm run eval:semantic` gives for the default model (see BENCHMARKS.md).
 */
export const DEFAULT_SEMANTIC_THRESHOLD = 0.95;

export const DEFAULT_OPTIONS: Readonly<GatewayOptions> = {
  host: '127.0.0.1',
  port: 8787,
  upstream: 'http://127.0.0.1:8000/v1',
  upstreamApiKey: undefined,
  apiToken: undefined,
  upstreamTimeoutMs: 600_000,
  dataDir: join(homedir(), '.deja'),
  ttlSeconds: 3600,
  maxBodyBytes: 16 * 1024 * 1024,
  logLevel: 'info',
  cachingEnabled: true,
  semantic: true,
  semanticThreshold: DEFAULT_SEMANTIC_THRESHOLD,
  semanticMode: 'verified',
  maxFalseHitRate: 0.02,
  semanticFloor: 0.7,
  answerJudge: 'embedding',
  embeddingModel: DEFAULT_EMBEDDING_MODEL,
  embeddingDtype: 'q8',
  embeddingDownload: true,
  vectorStore: 'sqlite',
  policy: {},
  normalizeVolatile: true,
  revalidateShare: 0.02,
  staleThreshold: 0.9,
  vllmMetricsIntervalMs: 15_000,
  eventsRetentionDays: 30,
  sharedStore: null,
  team: 'default',
  sharedRetentionSeconds: 86_400,
};

/** A setting as the CLI and the environment spell it. */
export interface SettingSpec {
  /** Long flag, without dashes. */
  flag: string;
  env: string;
  key: keyof GatewayOptions;
  /** Shown by `--help`. */
  help: string;
  valueName: string;
  parse: (raw: string) => GatewayOptions[keyof GatewayOptions];
}

function parseInteger(name: string, min: number, max: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
      throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  };
}

function parseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`upstream must be a URL such as http://127.0.0.1:8000/v1, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`upstream must be an http or https URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

/** Sizes such as 16mb, 512kb or a plain number of bytes. */
export function parseSize(raw: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(raw);
  if (!match) throw new Error(`size must look like 16mb, 512kb or 1048576, got "${raw}"`);
  const units: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
  const bytes = Math.floor(Number(match[1]) * (units[(match[2] ?? 'b').toLowerCase()] ?? 1));
  if (bytes < 1024) throw new Error(`size must be at least 1kb, got "${raw}"`);
  return bytes;
}

function parseLogLevel(raw: string): LogLevel {
  const level = raw.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new Error(`log level must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  }
  return level as LogLevel;
}

/** A similarity threshold, 0 to 1. */
export function parseThreshold(raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new Error(`threshold must be a number from 0 to 1, got "${raw}"`);
  }
  return value;
}

function parseChoice<T extends string>(name: string, choices: readonly T[]) {
  return (raw: string): T => {
    if (!(choices as readonly string[]).includes(raw)) throw new Error(`${name} must be one of ${choices.join(', ')}, got "${raw}"`);
    return raw as T;
  };
}

/** A policy file: JSON with the rules to change and the patterns to add (see the README). */
function parsePolicyFile(raw: string): PolicyOverrides {
  let text: string;
  try {
    text = readFileSync(raw, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the policy file ${raw}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('it must hold a JSON object');
    return parsed as PolicyOverrides;
  } catch (error) {
    throw new Error(`the policy file ${raw} is not valid: ${(error as Error).message}`);
  }
}

/** A bound on wrong answers: above 0, and below one half (a bound of a half or more bounds nothing). */
function parseFalseHitRate(raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0 || value >= 0.5)
    throw new Error(`must be a fraction above 0 and below 0.5, such as 0.02, got "${raw}"`);
  return value;
}

function parseShare(raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1)
    throw new Error(`must be a fraction from 0 to 1, got "${raw}"`);
  return value;
}

function parseSharedStore(raw: string): string {
  const problem = redisUrlProblem(raw);
  if (problem) throw new Error(problem);
  return raw;
}

function parseTeam(raw: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(raw))
    throw new Error(`a team name is 1 to 64 letters, digits, dots, dashes or underscores, got "${raw}"`);
  return raw;
}

/** A bearer token clients must send: long enough not to be guessed, and sendable as a header. */
function parseApiToken(raw: string): string {
  if (!/^[\x21-\x7e]{16,}$/.test(raw))
    throw new Error('the API token must be at least 16 visible ASCII characters without spaces (try: openssl rand -hex 24)');
  return raw;
}

function parseBoolean(raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`expected true or false, got "${raw}"`);
}

export const SETTINGS: readonly SettingSpec[] = [
  {
    flag: 'port',
    env: 'DEJA_PORT',
    key: 'port',
    valueName: 'n',
    help: 'port to listen on (default 8787; 0 = any free port)',
    parse: parseInteger('port', 0, 65535),
  },
  { flag: 'host', env: 'DEJA_HOST', key: 'host', valueName: 'addr', help: 'interface to bind (default 127.0.0.1)', parse: (raw) => raw },
  {
    flag: 'upstream',
    env: 'DEJA_UPSTREAM',
    key: 'upstream',
    valueName: 'url',
    help: 'OpenAI base URL of the vLLM server (default http://127.0.0.1:8000/v1)',
    parse: parseUrl,
  },
  {
    flag: 'upstream-key',
    env: 'DEJA_UPSTREAM_API_KEY',
    key: 'upstreamApiKey',
    valueName: 'key',
    help: 'API key sent upstream when a client sends none',
    parse: (raw) => raw,
  },
  {
    flag: 'api-token',
    env: 'DEJA_API_TOKEN',
    key: 'apiToken',
    valueName: 'token',
    help: 'require "Authorization: Bearer <token>" on /v1/* and /metrics (default: none; /health stays open)',
    parse: parseApiToken,
  },
  {
    flag: 'upstream-timeout',
    env: 'DEJA_UPSTREAM_TIMEOUT',
    key: 'upstreamTimeoutMs',
    valueName: 's',
    help: 'seconds to wait for the upstream to answer or send the next chunk (default 600)',
    parse: (raw) => parseInteger('upstream timeout', 1, 86_400)(raw) * 1000,
  },
  {
    flag: 'data',
    env: 'DEJA_DATA',
    key: 'dataDir',
    valueName: 'dir',
    help: 'data directory for the cache database (default ~/.deja)',
    parse: (raw) => raw,
  },
  {
    flag: 'ttl',
    env: 'DEJA_TTL',
    key: 'ttlSeconds',
    valueName: 's',
    help: 'default lifetime of a cached answer in seconds (default 3600)',
    parse: parseInteger('ttl', 1, 10 * 365 * 86_400),
  },
  {
    flag: 'max-body',
    env: 'DEJA_MAX_BODY',
    key: 'maxBodyBytes',
    valueName: 'size',
    help: 'largest request body accepted (default 16mb)',
    parse: parseSize,
  },
  {
    flag: 'log-level',
    env: 'DEJA_LOG_LEVEL',
    key: 'logLevel',
    valueName: 'level',
    help: 'error, warn, info or debug (default info)',
    parse: parseLogLevel,
  },
  {
    flag: 'caching',
    env: 'DEJA_CACHING',
    key: 'cachingEnabled',
    valueName: 'on|off',
    help: 'turn the cache off to forward everything untouched (default on)',
    parse: parseBoolean,
  },
  {
    flag: 'semantic',
    env: 'DEJA_SEMANTIC',
    key: 'semantic',
    valueName: 'on|off',
    help: 'answer similar questions from the cache (default on)',
    parse: parseBoolean,
  },
  {
    flag: 'semantic-threshold',
    env: 'DEJA_SEMANTIC_THRESHOLD',
    key: 'semanticThreshold',
    valueName: 'x',
    help: `similarity a semantic hit needs, 0 to 1 (default ${DEFAULT_SEMANTIC_THRESHOLD})`,
    parse: parseThreshold,
  },
  {
    flag: 'semantic-mode',
    env: 'DEJA_SEMANTIC_MODE',
    key: 'semanticMode',
    valueName: 'mode',
    help: 'verified (a learned bound on wrong answers, default) or static (the similarity threshold)',
    parse: parseChoice('semantic mode', SEMANTIC_MODES),
  },
  {
    flag: 'max-false-hit-rate',
    env: 'DEJA_MAX_FALSE_HIT_RATE',
    key: 'maxFalseHitRate',
    valueName: 'x',
    help: 'verified: the chance of a wrong answer a semantic hit may carry, at most (default 0.02)',
    parse: parseFalseHitRate,
  },
  {
    flag: 'semantic-floor',
    env: 'DEJA_SEMANTIC_FLOOR',
    key: 'semanticFloor',
    valueName: 'x',
    help: 'verified: similarity below which the nearest question is not considered (default 0.7)',
    parse: parseThreshold,
  },
  {
    flag: 'answer-judge',
    env: 'DEJA_ANSWER_JUDGE',
    key: 'answerJudge',
    valueName: 'kind',
    help: "how a stored answer is checked against the upstream's: embedding (default), exact (text), or llm (the upstream model asked)",
    parse: parseChoice('answer judge', ANSWER_JUDGES),
  },
  {
    flag: 'embedding-model',
    env: 'DEJA_EMBEDDING_MODEL',
    key: 'embeddingModel',
    valueName: 'id|dir',
    help: `Hugging Face model id or local model directory (default ${DEFAULT_EMBEDDING_MODEL})`,
    parse: (raw) => raw,
  },
  {
    flag: 'embedding-dtype',
    env: 'DEJA_EMBEDDING_DTYPE',
    key: 'embeddingDtype',
    valueName: 'dtype',
    help: 'model precision: q8 (onnx/model_quantized.onnx, default) or fp32 (onnx/model.onnx)',
    parse: parseChoice('embedding dtype', ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4'] as const),
  },
  {
    flag: 'embedding-download',
    env: 'DEJA_EMBEDDING_DOWNLOAD',
    key: 'embeddingDownload',
    valueName: 'on|off',
    help: 'allow downloading the model from the Hugging Face hub on first use (default on)',
    parse: parseBoolean,
  },
  {
    flag: 'vector-store',
    env: 'DEJA_VECTOR_STORE',
    key: 'vectorStore',
    valueName: 'kind',
    help: 'where vectors persist: sqlite (default) or vectra',
    parse: parseChoice('vector store', ['sqlite', 'vectra'] as const),
  },
  {
    flag: 'policy',
    env: 'DEJA_POLICY',
    key: 'policy',
    valueName: 'file',
    help: 'JSON file that tunes the non-cacheable policy (rules, thresholds, extra patterns)',
    parse: parsePolicyFile,
  },
  {
    flag: 'normalize-volatile',
    env: 'DEJA_NORMALIZE_VOLATILE',
    key: 'normalizeVolatile',
    valueName: 'on|off',
    help: "mask clock, date, cost and port values in tools' boilerplate in cache keys (default on)",
    parse: parseBoolean,
  },
  {
    flag: 'revalidate-share',
    env: 'DEJA_REVALIDATE_SHARE',
    key: 'revalidateShare',
    valueName: 'x',
    help: 'share of hits rechecked upstream to measure staleness (default 0.02)',
    parse: parseShare,
  },
  {
    flag: 'stale-threshold',
    env: 'DEJA_STALE_THRESHOLD',
    key: 'staleThreshold',
    valueName: 'x',
    help: 'answer similarity below which a rechecked hit counts as stale (default 0.9)',
    parse: parseThreshold,
  },
  {
    flag: 'vllm-metrics-interval',
    env: 'DEJA_VLLM_METRICS_INTERVAL',
    key: 'vllmMetricsIntervalMs',
    valueName: 's',
    help: "seconds between reads of the upstream's /metrics (default 15; 0 = off)",
    parse: (raw) => parseInteger('vllm metrics interval', 0, 86_400)(raw) * 1000,
  },
  {
    flag: 'events-retention',
    env: 'DEJA_EVENTS_RETENTION',
    key: 'eventsRetentionDays',
    valueName: 'days',
    help: 'days request events are kept for the metrics (default 30)',
    parse: parseInteger('events retention', 1, 3650),
  },
  {
    flag: 'shared-store',
    env: 'DEJA_SHARED_STORE',
    key: 'sharedStore',
    valueName: 'url',
    help: 'Redis URL of the team cache, e.g. redis://cache.internal:6379 (default: none, this machine only)',
    parse: parseSharedStore,
  },
  {
    flag: 'team',
    env: 'DEJA_TEAM',
    key: 'team',
    valueName: 'name',
    help: 'team namespace in the shared store: entries are shared only within it (default "default")',
    parse: parseTeam,
  },
  {
    flag: 'shared-retention',
    env: 'DEJA_SHARED_RETENTION',
    key: 'sharedRetentionSeconds',
    valueName: 's',
    help: 'seconds the team stream keeps index updates for late gateways (default 86400)',
    parse: parseInteger('shared retention', 60, 365 * 86_400),
  },
];

/**
 * Builds options from flags, then the environment, then the defaults.
 * Throws an Error naming the flag or variable when a value does not parse.
 */
export function resolveOptions(
  flags: Readonly<Record<string, string | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
): GatewayOptions {
  const options: GatewayOptions = { ...DEFAULT_OPTIONS };
  for (const spec of SETTINGS) {
    const fromFlag = flags[spec.flag];
    const fromEnv = env[spec.env];
    const raw = fromFlag ?? (fromEnv === '' ? undefined : fromEnv);
    if (raw === undefined) continue;
    try {
      (options as unknown as Record<string, unknown>)[spec.key] = spec.parse(raw);
    } catch (error) {
      const source = fromFlag !== undefined ? `--${spec.flag}` : spec.env;
      throw new Error(`${source}: ${(error as Error).message}`);
    }
  }
  return options;
}
