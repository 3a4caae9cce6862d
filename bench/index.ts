/**
 * `npm run bench [-- --quick] [-- gateway|devtools|semantic|decision|team]`: runs the benchmarks and prints their
 * figures as Markdown tables, ready for BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { devtoolsBench, printDevtoolsRows } from './devtoolsBench';
import { gatewayBench, printRows } from './gatewayBench';
import { printSemanticRows, semanticBench } from './semanticBench';
import { printTeamRows, teamBench } from './teamBench';
import { ROOT } from './lib';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.filter((arg) => !arg.startsWith('--'));
  execFileSync(process.execPath, [join(ROOT, 'esbuild.mjs')], { cwd: ROOT });
  process.stdout.write(
    `Deja benchmarks, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}${quick ? ', quick run' : ''}\n`,
  );
  if (only.length === 0 || only.includes('gateway'))
    printRows('Gateway overhead (npm run bench -- gateway)', await gatewayBench({ quick }));
  if (only.length === 0 || only.includes('devtools'))
    printDevtoolsRows('Reading dev-tool requests (npm run bench -- devtools)', devtoolsBench({ quick }));
  if (only.length === 0 || only.includes('semantic'))
    printSemanticRows('Semantic level at scale (npm run bench -- semantic)', await semanticBench({ quick }));
  if (only.includes('decision'))
    printSemanticRows('The verified decision (npm run bench -- decision)', await semanticBench({ quick, only: 'decision' }));
  if (only.length === 0 || only.includes('team'))
    printTeamRows('Team tier: four gateways, one Redis (npm run bench -- team)', await teamBench({ quick }));
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
