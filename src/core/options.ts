import { homedir } from 'node:os';
import { join } from 'node:path';
import { LOG_LEVELS, type LogLevel } from './logger';

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
}

export const DEFAULT_OPTIONS: Readonly<GatewayOptions> = {
  host: '127.0.0.1',
  port: 8787,
  upstream: 'http://127.0.0.1:8000/v1',
  upstreamApiKey: undefined,
  upstreamTimeoutMs: 600_000,
  dataDir: join(homedir(), '.deja'),
  ttlSeconds: 3600,
  maxBodyBytes: 16 * 1024 * 1024,
  logLevel: 'info',
  cachingEnabled: true,
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

function parseBoolean(raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`expected true or false, got "${raw}"`);
}

export const SETTINGS: readonly SettingSpec[] = [
  { flag: 'port', env: 'DEJA_PORT', key: 'port', valueName: 'n', help: 'port to listen on (default 8787; 0 = any free port)', parse: parseInteger('port', 0, 65535) },
  { flag: 'host', env: 'DEJA_HOST', key: 'host', valueName: 'addr', help: 'interface to bind (default 127.0.0.1)', parse: (raw) => raw },
  { flag: 'upstream', env: 'DEJA_UPSTREAM', key: 'upstream', valueName: 'url', help: 'OpenAI base URL of the vLLM server (default http://127.0.0.1:8000/v1)', parse: parseUrl },
  { flag: 'upstream-key', env: 'DEJA_UPSTREAM_API_KEY', key: 'upstreamApiKey', valueName: 'key', help: 'API key sent upstream when a client sends none', parse: (raw) => raw },
  { flag: 'upstream-timeout', env: 'DEJA_UPSTREAM_TIMEOUT', key: 'upstreamTimeoutMs', valueName: 's', help: 'seconds to wait for the upstream to answer or send the next chunk (default 600)', parse: (raw) => parseInteger('upstream timeout', 1, 86_400)(raw) * 1000 },
  { flag: 'data', env: 'DEJA_DATA', key: 'dataDir', valueName: 'dir', help: 'data directory for the cache database (default ~/.deja)', parse: (raw) => raw },
  { flag: 'ttl', env: 'DEJA_TTL', key: 'ttlSeconds', valueName: 's', help: 'default lifetime of a cached answer in seconds (default 3600)', parse: parseInteger('ttl', 1, 10 * 365 * 86_400) },
  { flag: 'max-body', env: 'DEJA_MAX_BODY', key: 'maxBodyBytes', valueName: 'size', help: 'largest request body accepted (default 16mb)', parse: parseSize },
  { flag: 'log-level', env: 'DEJA_LOG_LEVEL', key: 'logLevel', valueName: 'level', help: 'error, warn, info or debug (default info)', parse: parseLogLevel },
  { flag: 'caching', env: 'DEJA_CACHING', key: 'cachingEnabled', valueName: 'on|off', help: 'turn the cache off to forward everything untouched (default on)', parse: parseBoolean },
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
