import { parseArgs } from 'node:util';
import { createLogger } from './core/logger';
import { resolveOptions, SETTINGS, type GatewayOptions } from './core/options';
import { openCache } from './core/openCache';
import { isLoopback } from './gateway/hostGuard';
import { startGateway } from './gateway/startGateway';
import { redactRedisUrl } from './core/team/redisUrl';
import { VERSION } from './version';

const STOP_DEADLINE_MS = 10_000;

function usage(): string {
  const width = Math.max(...SETTINGS.map((spec) => `--${spec.flag} <${spec.valueName}>`.length));
  const flags = SETTINGS.map((spec) => {
    const flag = `--${spec.flag} <${spec.valueName}>`.padEnd(width);
    return `  ${flag}  ${spec.help}\n  ${' '.repeat(width)}  env ${spec.env}`;
  });
  return [
    `Deja ${VERSION}: a local OpenAI-compatible cache in front of your vLLM server.`,
    '',
    'Usage:',
    '  deja serve [options]   run the gateway',
    '  deja reindex [options] rebuild the semantic index from the stored entries (stop the gateway first)',
    '  deja --help            show this help',
    '  deja --version         print the version',
    '',
    'Options (a flag wins over its environment variable):',
    ...flags,
    '',
    'Then point any tool that takes an OpenAI base URL at the address serve prints,',
    'e.g. http://127.0.0.1:8787/v1',
  ].join('\n');
}

/** Parses `serve` flags; throws with a message a user can act on. */
function parseServeFlags(args: string[]): { help: boolean; options: GatewayOptions } {
  const optionSpecs: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const spec of SETTINGS) optionSpecs[spec.flag] = { type: 'string' };
  const { values } = parseArgs({ args, options: optionSpecs, strict: true, allowPositionals: false });
  if (values.help) return { help: true, options: resolveOptions({}, {}) };
  const flags: Record<string, string | undefined> = {};
  for (const spec of SETTINGS) {
    const value = values[spec.flag];
    if (typeof value === 'string') flags[spec.flag] = value;
  }
  return { help: false, options: resolveOptions(flags, process.env) };
}

/**
 * The warning printed to stderr when the gateway listens beyond this machine: cached
 * answers are other people's prompts and answers, and the upstream key is spent for them.
 */
export function exposureWarning(options: Pick<GatewayOptions, 'host' | 'apiToken'>): string | undefined {
  if (isLoopback(options.host)) return undefined;
  const rule = '!'.repeat(80);
  const lines = options.apiToken
    ? [
        '--api-token guards /v1/* and /metrics (/health stays open), but this is plain HTTP:',
        'the token, the prompts and the cached answers cross the network readable.',
        'Put TLS in front of it, or bind --host 127.0.0.1 unless you mean it.',
      ]
    : [
        "Anyone who can reach this address can read answers from the cache (other people's",
        'prompts and answers: the cache may leak them to the network) and spend your upstream',
        'credentials. Set --api-token (DEJA_API_TOKEN) so that clients must send a token,',
        'or bind --host 127.0.0.1 unless you mean it.',
      ];
  return [rule, `!! WARNING: Deja is bound to ${options.host}, not loopback (127.0.0.1).`, ...lines.map((line) => `!! ${line}`), rule].join(
    '\n',
  );
}

function banner(baseUrl: string, url: string, options: GatewayOptions): string {
  return [
    `Deja ${VERSION} is running.`,
    `  OpenAI base URL  ${baseUrl}   <- paste this into your tool`,
    `  upstream         ${options.upstream}`,
    `  data             ${options.dataDir ?? '(in memory)'}`,
    ...(options.sharedStore ? [`  team cache       ${redactRedisUrl(options.sharedStore)} (team "${options.team}")`] : []),
    ...(options.apiToken ? ['  api token        required on /v1/* and /metrics (Authorization: Bearer)'] : []),
    `  health           ${url}/health`,
    'Press Ctrl+C to stop.',
  ].join('\n');
}

async function reindex(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseServeFlags(args);
  } catch (error) {
    process.stderr.write(`deja reindex: ${(error as Error).message}\nRun "deja --help" for the options.\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const options = { ...parsed.options, semantic: true };
  const logger = createLogger(options.logLevel);
  let opened;
  try {
    opened = await openCache(options, logger);
  } catch (error) {
    process.stderr.write(`deja reindex: ${(error as Error).message}\n`);
    return 1;
  }
  try {
    const began = Date.now();
    let reported = 0;
    const count = await opened.cache.semantic!.reindex((done, total) => {
      if (done === total || Date.now() - reported > 1000) {
        reported = Date.now();
        process.stdout.write(`embedded ${done} of ${total} entries\n`);
      }
    });
    process.stdout.write(`semantic index rebuilt: ${count} vectors in ${((Date.now() - began) / 1000).toFixed(1)} s\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`deja reindex: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await opened.close();
  }
}

async function serve(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseServeFlags(args);
  } catch (error) {
    process.stderr.write(`deja serve: ${(error as Error).message}\nRun "deja --help" for the options.\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const options = parsed.options;
  const logger = createLogger(options.logLevel);
  const warning = exposureWarning(options);
  if (warning) process.stderr.write(`${warning}\n`);
  let gateway;
  try {
    gateway = await startGateway(options, { logger });
  } catch (error) {
    process.stderr.write(`deja serve: ${(error as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`${banner(gateway.baseUrl, gateway.url, options)}\n`);
  void gateway.context.upstream
    .request({
      method: 'GET',
      path: '/models',
      headers: options.upstreamApiKey ? { authorization: `Bearer ${options.upstreamApiKey}` } : {},
    })
    .then((response) => {
      response.body.resume();
      if (response.status >= 400) logger.warn(`the upstream answered GET /models with ${response.status}`, { upstream: options.upstream });
      else logger.info('upstream reachable', { upstream: options.upstream });
    })
    .catch((error: Error) => logger.warn(`the upstream is not reachable yet; requests get 502 until it is: ${error.message}`));

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn(`${signal} received again: exiting now`);
        process.exit(1);
      }
      stopping = true;
      logger.info(`${signal} received, stopping`);
      // A clean stop takes well under a second; whatever holds it up longer is abandoned.
      setTimeout(() => {
        logger.warn('stopping took too long: exiting now');
        process.exit(1);
      }, STOP_DEADLINE_MS).unref();
      gateway.close().then(
        () => resolve(0),
        (error: Error) => {
          logger.error('error while stopping', { error });
          resolve(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${usage()}\n`);
      return 0;
    case '--version':
    case '-v':
    case 'version':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case 'serve':
      return serve(rest);
    case 'reindex':
      return reindex(rest);
    default:
      process.stderr.write(`deja: unknown command "${command}"\n\n${usage()}\n`);
      return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`deja: ${error.stack ?? error.message}\n`);
      process.exit(1);
    },
  );
}
