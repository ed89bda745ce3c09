import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { makeEnvelope, parseEnvelope, type Envelope } from '../../envelope.ts';
import { InvalidStateError } from '../../errors.ts';
import { InProcessBus } from './in-process-bus.ts';
import { createLogger } from './logger.ts';
import { AgentRuntime } from './runtime.ts';
import { percentile, summarize } from './percentiles.ts';

function collect(bus: InProcessBus, pattern: string): Envelope[] {
  const seen: Envelope[] = [];
  bus.subscribe(pattern, (env) => void seen.push(env));
  return seen;
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('AgentRuntime', () => {
  it('moves INIT → RUNNING → DEGRADED → RUNNING → STOPPED and rejects illegal transitions', () => {
    const rt = new AgentRuntime({ id: 'a', kind: 'worker', bus: new InProcessBus(), logLevel: 'silent' });
    const seen: string[] = [];
    rt.on('stateChange', (from, to) => seen.push(`${from}>${to}`));
    expect(() => rt.setState('DEGRADED')).toThrow(InvalidStateError);
    rt.start();
    rt.setState('DEGRADED', 'bus lagging');
    rt.setState('RUNNING');
    rt.stop();
    rt.stop();
    expect(seen).toEqual(['INIT>RUNNING', 'RUNNING>DEGRADED', 'DEGRADED>RUNNING', 'RUNNING>STOPPED']);
    expect(() => rt.setState('RUNNING')).toThrow(InvalidStateError);
  });

  it('publish() stamps build_sha, models and config_rev and the result parses as an envelope', async () => {
    const bus = new InProcessBus();
    const out = collect(bus, 'promethean.p.discord.t.demo.>');
    const rt = new AgentRuntime({ id: 'w', kind: 'worker', bus, logLevel: 'silent', buildSha: 'abc123', configRev: 'r7', models: [{ name: 'silero', version: '5' }] });
    rt.start();
    rt.publish('voice.control.leave', { guild_id: '1' }, { provider: 'discord', tenant: 'demo', corr: 'c1' });
    await tick();
    expect(out).toHaveLength(1);
    const env = parseEnvelope(JSON.parse(JSON.stringify(out[0])));
    expect(env).toMatchObject({ build_sha: 'abc123', config_rev: 'r7', models: [{ name: 'silero', version: '5' }], corr: 'c1', src: 'w' });
    rt.stop();
  });

  it('publishes a valid health envelope on start and every interval', async () => {
    const bus = new InProcessBus();
    const health = collect(bus, 'promethean.p.promethean.t.system.health');
    const rt = new AgentRuntime({ id: 'h', kind: 'worker', bus, logLevel: 'silent', healthIntervalS: 0.05, queueDepth: () => 7 });
    rt.start();
    await new Promise((r) => setTimeout(r, 180));
    rt.stop();
    expect(health.length).toBeGreaterThanOrEqual(3);
    const last = parseEnvelope(JSON.parse(JSON.stringify(health.at(-1))));
    expect(last.payload).toMatchObject({ agent_id: 'h', state: 'RUNNING', queue_depth: 7 });
  });

  it('a handler that throws yields one error envelope and the agent keeps running', async () => {
    const bus = new InProcessBus();
    const errors = collect(bus, 'promethean.p.discord.t.demo.error');
    const rt = new AgentRuntime({ id: 'x', kind: 'worker', bus, logLevel: 'silent' });
    rt.start();
    let calls = 0;
    rt.subscribe('promethean.p.discord.t.demo.voice.control.(join|leave)', () => {
      calls += 1;
      if (calls === 1) throw new Error('boom');
    });
    const src = { src: 'test', provider: 'discord', tenant: 'demo' };
    bus.publish(makeEnvelope('voice.control.leave', { guild_id: '1' }, src) as Envelope);
    bus.publish(makeEnvelope('voice.control.join', { guild_id: '1', channel_id: '2', prefer_opus: true, self_mute: false, self_deaf: false }, src) as Envelope);
    await tick();
    expect(calls).toBe(2);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.payload).toMatchObject({ code: 'internal', message: 'boom' });
    expect(rt.state).toBe('RUNNING');
    expect(rt.health().latency_ms['voice.control.leave']?.count).toBe(1);
    rt.stop();
  });

  it('logs carry corr, intent, latency_ms and outcome, and redact secrets', async () => {
    const lines: string[] = [];
    const destination = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
    const logger = createLogger({ agent: 'l', level: 'debug', destination });
    const bus = new InProcessBus();
    const rt = new AgentRuntime({ id: 'l', kind: 'worker', bus, logger });
    rt.start();
    rt.subscribe('promethean.p.discord.t.demo.>', () => undefined);
    bus.publish(makeEnvelope('voice.control.leave', { guild_id: '1' }, { src: 't', provider: 'discord', tenant: 'demo', corr: 'k9' }) as Envelope);
    await tick();
    logger.info({ token: 'very-secret', nested: { secret_key: [1, 2] } }, 'with secrets');
    rt.stop();
    const handled = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'handled');
    expect(handled).toMatchObject({ agent: 'l', corr: 'k9', intent: 'voice.control.leave', outcome: 'ok' });
    expect(typeof handled.latency_ms).toBe('number');
    const all = lines.join('\n');
    expect(all).not.toContain('very-secret');
    expect(all).toContain('[redacted]');
  });
});

describe('percentiles', () => {
  it('nearest-rank percentiles match a hand-checked example', () => {
    const s = summarize([15, 20, 35, 40, 50]);
    // Nearest-rank definition: p50 → ceil(0.5·5) = 3rd value, p95/p99 → 5th value.
    expect(s).toEqual({ count: 5, p50: 35, p95: 50, p99: 50 });
    expect(percentile(new Float64Array([]), 0.5)).toBe(0);
  });
});
