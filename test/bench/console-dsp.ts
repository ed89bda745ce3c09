/**
 * `promethean bench console-dsp`: the console's in-browser analysis in Chromium, on the built console
 * assets (web/dist) — the real `pcm-tap` AudioWorklet feeding the real analysis workers as the console
 * runs them (one draws: shared STFT/mel kernels, WebGL2 on an OffscreenCanvas; one runs Silero VAD v5
 * on onnxruntime-web WASM, one thread).
 * The audio comes from oscillators and noise in the page instead of WebRTC tracks, so the rows measure
 * the analysis itself:
 *   - VAD ms per 32 ms Silero window, with 1 speaker and with 16;
 *   - spectrogram frame time (all 16 lanes drawn, CPU side, as the worker measures it);
 *   - the page's longest main-thread task (Long Tasks API; none ≥ 50 ms reads 0) and its longest gap
 *     between animation frames while 16 speakers are analysed.
 * Where the numbers come from is printed: this machine's Chromium runs WebGL on SwiftShader (no GPU),
 * so frame times here are CPU-rasterised; a GPU machine gives the real GPU numbers. Headless Chromium
 * without an audio device may render the oscillators faster than real time (the windows/s row shows
 * by how much), which loads the workers and the page more than 16 live speakers would.
 */
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';
import { launchChromium, chromiumAvailable } from '../support/chromium.ts';
import { buildConsole, consoleBuildStale } from '../../server/src/web/build.ts';
import type { BenchRow, BenchSuite } from './types.ts';

const WEB = join(import.meta.dirname, '..', '..', 'web');
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.html': 'text/html', '.css': 'text/css' };

/** The bench page: N speakers → pcm-tap worklets → the analysis worker; reports the worker's and the page's timings. */
const PAGE = (worker: string, worklet: string) => `<!doctype html><meta charset="utf-8"><title>console-dsp bench</title>
<canvas id="c" style="width:1200px;height:200px;display:block"></canvas>
<script type="module">
let longest = 0, gap = 0, last = 0;
new PerformanceObserver((l) => { for (const e of l.getEntries()) longest = Math.max(longest, e.duration); }).observe({ type: 'longtask', buffered: true });
const tick = (t) => { if (last) gap = Math.max(gap, t - last); last = t; requestAnimationFrame(tick); };
requestAnimationFrame(tick);
const w = new Worker(${JSON.stringify(worker)}, { type: 'module' });
const v = new Worker(${JSON.stringify(worker)}, { type: 'module' });
let seq = 0; const pending = new Map();
w.onmessage = v.onmessage = (e) => { const p = pending.get(e.data.id); if (p) { pending.delete(e.data.id); p(e.data); } };
const ask = (m, t = [], to = w) => new Promise((r) => { const id = ++seq; pending.set(id, r); to.postMessage({ ...m, id }, t); });
const canvas = document.getElementById('c');
const off = canvas.transferControlToOffscreen();
await ask({ type: 'init', role: 'spectro', canvas: off, sampleRate: 48000, columns: 600 }, [off]);
await ask({ type: 'init', role: 'vad', canvas: null, sampleRate: 48000, columns: 600 }, [], v);
const ctx = new AudioContext({ sampleRate: 48000 });
await ctx.audioWorklet.addModule(${JSON.stringify(worklet)});
await ctx.resume();
const mute = ctx.createGain(); mute.gain.value = 0; mute.connect(ctx.destination);
const noise = ctx.createBuffer(1, 48000, 48000); const d = noise.getChannelData(0); for (let i = 0; i < d.length; i++) d[i] = (Math.random() * 2 - 1) * 0.05;
let order = [];
window.bench = {
  async speakers(n) {
    for (let i = order.length; i < n; i++) {
      const id = 'speaker' + i;
      const osc = ctx.createOscillator(); osc.frequency.value = 200 + 150 * i;
      const g = ctx.createGain(); g.gain.value = 0.2; osc.connect(g);
      const src = ctx.createBufferSource(); src.buffer = noise; src.loop = true; src.connect(g);
      const node = new AudioWorkletNode(ctx, 'pcm-tap', { processorOptions: { batch: 1024 } });
      const ch = new MessageChannel(), vch = new MessageChannel();
      node.port.postMessage({ port: ch.port1 }, [ch.port1]);
      node.port.postMessage({ port: vch.port1 }, [vch.port1]);
      g.connect(node); node.connect(mute); osc.start(); src.start();
      await ask({ type: 'add', user_id: id, port: ch.port2 }, [ch.port2]);
      await ask({ type: 'add', user_id: id, port: vch.port2 }, [vch.port2], v);
      order.push(id);
    }
    canvas.style.height = (n * 102) + 'px';
    await ask({ type: 'layout', order, width: 1200, laneHeight: 96, gap: 6 });
  },
  async stats() {
    const s = (await ask({ type: 'stats' })).stats, z = (await ask({ type: 'stats' }, [], v)).stats;
    const r = { ...s, vad_ms_mean: z.vad_ms_mean, vad_ms_max: z.vad_ms_max, vad_windows: z.vad_windows, vad: z.vad, vad_error: z.vad_error, longest_task_ms: longest, longest_frame_gap_ms: gap };
    longest = 0; gap = 0; return r;
  },
};
window.benchReady = true;
</script>`;

async function serve(): Promise<{ server: Server; url: string; worker: string; worklet: string }> {
  const dist = join(WEB, 'dist');
  const assets = await readdir(join(dist, 'assets'));
  const worker = assets.find((f) => f.startsWith('analysis.worker-') && f.endsWith('.js'));
  const worklet = assets.find((f) => f.startsWith('pcm-tap.worklet-') && f.endsWith('.js'));
  if (!worker || !worklet) throw new Error('web/dist has no analysis worker or pcm-tap worklet: build the console (npm run build:web)');
  const page = PAGE(`/assets/${worker}`, `/assets/${worklet}`);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') {
      res.setHeader('content-type', 'text/html');
      res.end(page);
      return;
    }
    const file = normalize(join(dist, path));
    if (!file.startsWith(dist) || !existsSync(file)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', TYPES[extname(file)] ?? 'application/octet-stream');
    readFile(file).then((b) => res.end(b), () => ((res.statusCode = 500), res.end()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, worker, worklet };
}

interface PageStats {
  vad_ms_mean: number;
  vad_ms_max: number;
  vad_windows: number;
  frame_ms_mean: number;
  frame_ms_max: number;
  frames: number;
  vad: string;
  vad_error: string | null;
  renderer: string;
  longest_task_ms: number;
  longest_frame_gap_ms: number;
}

const suite: BenchSuite = {
  name: 'console-dsp',
  description: 'the console\'s browser analysis in Chromium: VAD ms per window, spectrogram frame time, longest task (16 speakers)',
  async run(ctx) {
    if (!chromiumAvailable()) throw new Error('console-dsp needs Chromium (apt-get install chromium)');
    if (await consoleBuildStale(WEB)) await buildConsole(WEB, ctx.log);
    const { server, url } = await serve();
    const browser = await launchChromium();
    browser.on('close', () => ctx.log('console-dsp: the browser closed'));
    try {
      const page = await browser.newPage();
      page.on('crash', () => ctx.log('console-dsp: the page crashed'));
      page.on('pageerror', (e) => ctx.log(`console-dsp: page error: ${e.message}`));
      page.on('console', (m) => m.type() === 'error' && ctx.log(`console-dsp: page console: ${m.text()}`));
      await page.setViewportSize({ width: 1280, height: 1800 });
      await page.goto(url);
      await page.waitForFunction(() => (window as unknown as { benchReady?: boolean }).benchReady === true, undefined, { timeout: 60_000 });
      const stats = () => page.evaluate(() => (window as unknown as { bench: { stats(): Promise<PageStats> } }).bench.stats());
      const speakers = (n: number) => page.evaluate((n) => (window as unknown as { bench: { speakers(n: number): Promise<void> } }).bench.speakers(n), n);
      const warmMs = ctx.quick ? 3000 : 5000;
      const measureMs = ctx.quick ? 5000 : 15_000;
      const phase = async (n: number): Promise<PageStats> => {
        await speakers(n);
        await page.waitForTimeout(warmMs); // model load and JIT warm-up, not measured
        await stats();
        await page.waitForTimeout(measureMs);
        return stats();
      };
      const one = await phase(1);
      if (one.vad !== 'ready') throw new Error(`Silero did not load in Chromium: ${one.vad_error ?? one.vad}`);
      const many = await phase(16);
      const gpu = /swiftshader|llvmpipe|software/i.test(many.renderer) ? 'no GPU: WebGL on a software rasteriser' : 'GPU';
      ctx.log(`console-dsp: Chromium WebGL renderer "${many.renderer}" (${gpu}); Silero VAD v5 on onnxruntime-web WASM, 1 thread`);
      ctx.log(`console-dsp: 16 speakers: ${many.vad_windows} VAD windows in ${measureMs / 1000} s (real time needs ${Math.round((16 * measureMs) / 32)}), ${many.frames} frames drawn`);
      const where = `Chromium, ${gpu}`;
      const rows: BenchRow[] = [
        { suite: 'console-dsp', name: `vad ms/window 1 speaker (ort-web wasm, ${where})`, unit: 'ms', value: one.vad_ms_mean, p99: one.vad_ms_max },
        { suite: 'console-dsp', name: `vad ms/window 16 speakers (ort-web wasm, ${where})`, unit: 'ms', value: many.vad_ms_mean, p99: many.vad_ms_max },
        // Headless Chromium with no audio device may render audio faster than real time: this says how much.
        { suite: 'console-dsp', name: 'vad windows/s 16 speakers (16 × 31.25 = 500 at real time)', unit: 'windows/s', value: many.vad_windows / (measureMs / 1000) },
        { suite: 'console-dsp', name: `spectrogram frame 16 lanes (${where})`, unit: 'ms', value: many.frame_ms_mean, p99: many.frame_ms_max },
        { suite: 'console-dsp', name: `spectrogram frames/s 16 lanes (${where})`, unit: 'fps', value: many.frames / (measureMs / 1000) },
        { suite: 'console-dsp', name: 'page longest task 16 speakers (0 = none ≥ 50 ms)', unit: 'ms', value: many.longest_task_ms },
        { suite: 'console-dsp', name: 'page longest gap between animation frames 16 speakers', unit: 'ms', value: many.longest_frame_gap_ms },
      ];
      return rows;
    } finally {
      await browser.close();
      server.close();
    }
  },
};

export default suite;
