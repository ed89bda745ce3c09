/** The benchmark suites behind `promethean bench`, a table printer and the JSON writer. */
import type { BenchContext, BenchRow, BenchSuite } from './types.ts';

/** Suite name → module file beside this one (default export: BenchSuite). `soak` is never run by default. */
export const SUITE_FILES: Readonly<Record<string, string>> = {
  bus: 'bus.ts',
  store: 'store.ts',
  receive: 'receive.ts',
  latency: 'latency.ts',
  capacity: 'capacity.ts',
  embed: 'embed.ts',
  // A search's query embedding through the bus to the embedder worker, against the model called directly.
  'embed-query': 'embed-query.ts',
  dave: 'dave.ts',
  // Both DSP suites live in dsp.ts, which reads its ?suite= to pick one.
  vad: 'dsp.ts?suite=vad',
  mel: 'dsp.ts?suite=mel',
  // DSP lease handovers between the server's VAD worker and a console tab, over the hub.
  'dsp-offload': 'dsp-offload.ts',
  soak: 'soak.ts',
  // The console's in-browser analysis (VAD, spectrograms) in Chromium.
  'console-dsp': 'console-dsp.ts',
  rest: 'rest.ts',
  backfill: 'backfill.ts',
  // The speech suites live in speech.ts (?suite= picks one); they start the local speech server.
  stt: 'speech.ts?suite=stt',
  tts: 'speech.ts?suite=tts',
  llm: 'speech.ts?suite=llm',
};

export const DEFAULT_SUITES = Object.keys(SUITE_FILES).filter((s) => s !== 'soak');

export async function loadSuite(name: string): Promise<BenchSuite> {
  const file = SUITE_FILES[name];
  if (!file) throw new Error(`unknown bench suite "${name}" (known: ${Object.keys(SUITE_FILES).join(', ')})`);
  const mod = (await import(new URL(`./${file}`, import.meta.url).href)) as { default?: BenchSuite };
  if (!mod.default || typeof mod.default.run !== 'function') throw new Error(`bench suite "${name}" (${file}) has no default BenchSuite export`);
  return mod.default;
}

export async function runSuites(names: readonly string[], ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const name of names) {
    const suite = await loadSuite(name);
    ctx.log(`bench: running ${name} — ${suite.description}`);
    const t0 = performance.now();
    rows.push(...(await suite.run(ctx)));
    ctx.log(`bench: ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return rows;
}

function fmt(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return '';
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString('en-US');
  if (a >= 10) return n.toFixed(1);
  return n.toPrecision(3);
}

/** A plain-text table: one row per measurement, with its baseline and the ratio value/baseline. */
export function formatTable(rows: readonly BenchRow[]): string {
  const header = ['suite', 'name', 'value', 'unit', 'p50', 'p99', 'baseline', 'baseline value', 'ratio'];
  const body = rows.map((r) => [
    r.suite,
    r.name,
    fmt(r.value),
    r.unit,
    fmt(r.p50),
    fmt(r.p99),
    r.baseline?.name ?? '',
    fmt(r.baseline?.value),
    r.baseline && r.baseline.value !== 0 ? `${(r.value / r.baseline.value).toFixed(2)}×` : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 && i !== 3 && i !== 6 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
