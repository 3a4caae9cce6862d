/**
 * `npm run fuzz`: the full hostile-input campaign against the real gateway (in this
 * process) and the simulated vLLM. Prints per-endpoint counts, status histograms and
 * the result; exits 1 when anything failed.
 *
 *   npm run fuzz                                  a fresh random seed, 12,000 requests
 *   npm run fuzz -- --seed 1234                   replay a campaign
 *   npm run fuzz -- --seed 1234 --case 567        replay one case (repeat --case for more)
 *   npm run fuzz -- --requests 50000 --api-token  longer, with the gateway's API token on
 *   npm run fuzz -- --seed 1234 --pair 17         replay one pair of the number campaign
 *
 * Then the number campaign (scripts/fuzzNumbers.ts, `--pairs`, 300 by default): pairs of
 * requests that differ only in a number JSON.parse reads as the same double (a seed past
 * 2^53...) must be two misses, reach the upstream digit for digit and hit their own answers.
 */
import { parseArgs } from 'node:util';
import { campaignPassed, formatReport, runCampaign } from '../test/fixtures/fuzz/fuzzCampaign';
import { formatNumberReport, runNumberCampaign } from './fuzzNumbers';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      requests: { type: 'string', default: '12000' },
      case: { type: 'string', multiple: true },
      pairs: { type: 'string', default: '300' },
      pair: { type: 'string', multiple: true },
      concurrency: { type: 'string', default: '8' },
      'api-token': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'npm run fuzz -- [--seed <n>] [--requests <n>] [--case <n>]... [--pairs <n>] [--pair <n>]... [--concurrency <n>] [--api-token] [--verbose]\n',
    );
    return 0;
  }
  const seed = values.seed !== undefined ? Number(values.seed) : (Date.now() ^ (process.pid << 16)) >>> 0;
  const requests = Number(values.requests);
  const pairs = Number(values.pairs);
  if (!Number.isInteger(seed) || !Number.isInteger(requests) || requests < 1 || !Number.isInteger(pairs) || pairs < 0)
    throw new Error('--seed, --requests and --pairs take whole numbers');
  const only = values.case?.map(Number);
  const onlyPairs = values.pair?.map(Number);
  // Replaying pairs runs only those; replaying cases runs no pairs.
  if (onlyPairs) return numberCampaign(seed, pairs, onlyPairs, values.verbose);
  process.stdout.write(
    `Deja hostile-input fuzz: seed ${seed}, ${only ? `cases ${only.join(', ')}` : `${requests} requests`}${values['api-token'] ? ', --api-token on' : ''}\n`,
  );
  const report = await runCampaign({
    seed,
    requests,
    only,
    concurrency: Number(values.concurrency),
    apiToken: values['api-token'] ? 'deja-fuzz-gateway-token' : undefined,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`\n${formatReport(report, values.verbose ? Infinity : 40)}\n`);
  const numbers = only || pairs === 0 ? 0 : await numberCampaign(seed, pairs, undefined, values.verbose);
  return campaignPassed(report) && numbers === 0 ? 0 : 1;
}

async function numberCampaign(seed: number, pairs: number, only: number[] | undefined, verbose: boolean | undefined): Promise<number> {
  process.stdout.write(`\nNumbers a double does not keep: seed ${seed}, ${only ? `pairs ${only.join(', ')}` : `${pairs} pairs`}\n`);
  const report = await runNumberCampaign({ seed, pairs, only, log: (line) => process.stdout.write(`${line}\n`) });
  process.stdout.write(`\n${formatNumberReport(report, verbose ? Infinity : 40)}\n`);
  return report.failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`fuzz: ${error.stack ?? error.message}\n`);
    process.exit(2);
  },
);
