/** Smoke runner for the bus suite until the CLI runs it: `node test/bench/run-bus.ts [--quick]`. */
import suite from './bus.ts';
import { formatTable } from './index.ts';

const quick = process.argv.includes('--quick');
const rows = await suite.run({ quick, log: (m) => process.stderr.write(`${m}\n`) });
process.stdout.write(`${formatTable(rows)}\n`);
