/** `promethean bench [suite ...] [--json <file>] [--quick]`: named suites, a printed table, JSON rows. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { PrometheanError } from '@promethean/shared';
import { DEFAULT_SUITES, SUITE_FILES, formatTable, runSuites } from '../../../../test/bench/index.ts';
import { parseFlags, type Command } from '../args.ts';

export const benchCommand: Command = {
  name: 'bench',
  summary: 'run benchmark suites side by side with their baselines; prints a table, writes JSON',
  usage: `Usage: promethean bench [suite ...] [--json <file>] [--quick] [--minutes <n>]

Suites: ${Object.keys(SUITE_FILES).join(', ')} (all but soak when none is named).

Options:
  --json <file>  where to write the JSON rows (default bench-results/bench-<time>.json)
  --quick        short runs, for a smoke check; numbers are noisier
  --minutes <n>  how long the soak runs (default 10)
  -h, --help     this text`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { json: { type: 'string' }, quick: { type: 'boolean' }, minutes: { type: 'string' } }, true);
    const names = positionals.length > 0 ? positionals : DEFAULT_SUITES;
    for (const n of names) {
      if (!SUITE_FILES[n]) throw new PrometheanError('bad_flag', `unknown suite "${n}" (known: ${Object.keys(SUITE_FILES).join(', ')})`);
    }
    let minutes: number | undefined;
    if (values.minutes !== undefined) {
      minutes = Number(values.minutes);
      if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) throw new PrometheanError('bad_flag', `--minutes "${values.minutes}" is not a number of minutes in (0, 1440]`, { path: 'minutes' });
    }
    const rows = await runSuites(names, { quick: values.quick === true, log: (m) => console.error(m), ...(minutes !== undefined ? { minutes } : {}) });
    console.log(formatTable(rows));
    const file = resolve(values.json ?? `bench-results/bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(rows, null, 2)}\n`);
    console.error(`bench: wrote ${rows.length} rows to ${file}`);
    return 0;
  },
};
