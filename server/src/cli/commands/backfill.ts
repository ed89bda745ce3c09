/**
 * `promethean backfill --channel <id> [--tenant T]`: enqueues one history backfill job on the bus
 * (`jobs.backfill.messages.enqueue`) for the message indexer and shows a progress bar until the job's
 * `done` or `error` arrives. The CLI never talks to the provider: the indexer drives the REST agent.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { ID_TOKEN_RE, PrometheanError, jobsPayloads, makeEnvelope, type Envelope, type PayloadOf } from '@promethean/shared';
import { numberFlag, parseFlags, type Command } from '../args.ts';
import { connectToHub, locateHub, type HubLocation } from '../hub-connection.ts';

export interface BackfillRequest {
  provider: string;
  tenant: string;
  channelId: string;
  limit: number;
  before?: string;
  after?: string;
  jobId?: string;
  /** Give up waiting after this many seconds (the job keeps running in the indexer). */
  timeoutS?: number;
}

export type BackfillOutcome =
  | { ok: true; done: PayloadOf<'jobs.backfill.messages.done'> }
  | { ok: false; error: PayloadOf<'jobs.backfill.messages.error'> | { job_id: string; message: string } };

/** `[██████░░░░]`: the share of `limit` fetched (the history's length is unknown beforehand). */
export function progressBar(fetched: number, limit: number, width = 24): string {
  const share = Math.max(0, Math.min(1, limit > 0 ? fetched / limit : 0));
  const full = Math.round(share * width);
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}]`;
}

/** Enqueues the job and reports progress through `render` until it ends. */
export async function runBackfill(location: HubLocation, req: BackfillRequest, render: (line: string, final: boolean) => void): Promise<BackfillOutcome> {
  const payload = jobsPayloads['jobs.backfill.messages.enqueue'].parse({
    job_id: req.jobId ?? `cli-${randomUUID()}`,
    channel_id: req.channelId,
    limit: req.limit,
    ...(req.before ? { before: req.before } : {}),
    ...(req.after ? { after: req.after } : {}),
  });
  const client = await connectToHub(location);
  const started = performance.now();
  try {
    return await new Promise<BackfillOutcome>((done, fail) => {
      const prefix = `promethean.p.${req.provider}.t.${req.tenant}.jobs.backfill.messages`;
      const mine = (env: Envelope) => (env.payload as { job_id?: unknown })?.job_id === payload.job_id;
      const timer = req.timeoutS ? setTimeout(() => done({ ok: false, error: { job_id: payload.job_id, message: `no end of job ${payload.job_id} within ${req.timeoutS} s (it keeps running in the indexer)` } }), req.timeoutS * 1000) : undefined;
      timer?.unref();
      const finish = (outcome: BackfillOutcome) => {
        if (timer) clearTimeout(timer);
        done(outcome);
      };
      const line = (fetched: number) => {
        const s = (performance.now() - started) / 1000;
        return `backfill ${payload.job_id}: ${progressBar(fetched, payload.limit)} ${fetched.toLocaleString('en-US')} / ${payload.limit.toLocaleString('en-US')} messages (${Math.round(fetched / Math.max(s, 0.001))}/s)`;
      };
      const sub = client.subscribe(`${prefix}.>`, (env) => {
        if (!mine(env)) return;
        if (env.intent === 'jobs.backfill.messages.progress') {
          const p = jobsPayloads['jobs.backfill.messages.progress'].safeParse(env.payload);
          if (p.success) render(line(p.data.fetched), false);
        } else if (env.intent === 'jobs.backfill.messages.done') {
          const p = jobsPayloads['jobs.backfill.messages.done'].safeParse(env.payload);
          if (!p.success) return;
          render(`${line(p.data.fetched)} — done (${p.data.reason}, ${p.data.duplicates} already stored)`, true);
          finish({ ok: true, done: p.data });
        } else if (env.intent === 'jobs.backfill.messages.error') {
          const p = jobsPayloads['jobs.backfill.messages.error'].safeParse(env.payload);
          if (!p.success) return;
          render(`backfill ${payload.job_id}: failed after ${p.data.fetched} messages: ${p.data.message}`, true);
          finish({ ok: false, error: p.data });
        }
      });
      // Errors the indexer sends back about the enqueue itself (refused, malformed) carry its id as corr.
      const errSub = client.subscribe(`promethean.p.${req.provider}.t.${req.tenant}.error`, (env) => {
        if (env.corr !== enqueueEnv.id) return;
        const message = String((env.payload as { message?: unknown })?.message ?? 'refused');
        render(`backfill ${payload.job_id}: refused: ${message}`, true);
        finish({ ok: false, error: { job_id: payload.job_id, message } });
      });
      const enqueueEnv = makeEnvelope('jobs.backfill.messages.enqueue', payload, { src: 'cli', provider: req.provider, tenant: req.tenant });
      Promise.all([sub.ready, errSub.ready])
        .then(() => {
          client.publish(enqueueEnv);
          render(line(0), false);
        })
        .catch(fail);
    });
  } finally {
    client.close();
  }
}

const Snowflake = /^[0-9]{1,20}$/;

export const backfillCommand: Command = {
  name: 'backfill',
  summary: 'backfill one channel\'s message history into the store (through the message indexer)',
  usage: `Usage: promethean backfill --channel <id> [--tenant T] [--provider P] [--limit N] [--before ID] [--after ID]
                           [--job-id ID] [--timeout s] [--data-dir DIR] [--hub URL --token-file FILE]

Enqueues a jobs.backfill.messages job for the message indexer of the running \`promethean start\` and
shows its progress until it is done. The job is resumable: a restarted indexer continues it from its
saved cursor; enqueueing the same --job-id again only reports how it ended.

Options:
  --channel <id>      channel (or thread) id to backfill (required)
  --tenant <t>        tenant in providers.yml (default demo)
  --provider <p>      provider (default discord)
  --limit <n>         most messages to fetch (default 100000)
  --before <id>       start below this message id (default: the newest)
  --after <id>        stop at this message id
  --job-id <id>       the job's id (default: a fresh one)
  --timeout <s>       stop waiting after this many seconds (the job keeps running)
  --data-dir <dir>    data directory of the running hub (default .data)
  --hub <url>         hub WebSocket URL instead of the runtime file's
  --token-file <file> agent key file instead of the runtime file's
  -h, --help          this text`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      channel: { type: 'string' }, tenant: { type: 'string' }, provider: { type: 'string' }, limit: { type: 'string' },
      before: { type: 'string' }, after: { type: 'string' }, 'job-id': { type: 'string' }, timeout: { type: 'string' },
      'data-dir': { type: 'string' }, hub: { type: 'string' }, 'token-file': { type: 'string' },
    });
    if (values.channel === undefined) throw new PrometheanError('bad_flag', '--channel <id> is required');
    if (!Snowflake.test(values.channel)) throw new PrometheanError('bad_flag', `--channel "${values.channel}" is not a channel id`);
    for (const f of ['before', 'after'] as const) if (values[f] !== undefined && !Snowflake.test(values[f]!)) throw new PrometheanError('bad_flag', `--${f} "${values[f]}" is not a message id`);
    const tenant = values.tenant ?? 'demo';
    const provider = values.provider ?? 'discord';
    for (const [name, v] of [['tenant', tenant], ['provider', provider]] as const) if (!ID_TOKEN_RE.test(v)) throw new PrometheanError('bad_flag', `--${name} "${v}" must be a [a-z0-9_-] token`);
    if (values['job-id'] !== undefined && (values['job-id'].length === 0 || values['job-id'].length > 128)) throw new PrometheanError('bad_flag', '--job-id must be 1 to 128 characters');
    const limit = numberFlag('limit', values.limit, 1, 1_000_000) ?? 100_000;
    if (!Number.isInteger(limit)) throw new PrometheanError('bad_flag', '--limit must be a whole number');
    const timeoutS = numberFlag('timeout', values.timeout, 1, 86_400 * 7);
    const location = await locateHub({ dataDir: resolve(values['data-dir'] ?? '.data'), ...(values.hub ? { hub: values.hub } : {}), ...(values['token-file'] ? { tokenFile: values['token-file'] } : {}) });
    const tty = process.stderr.isTTY === true;
    let last = 0;
    const outcome = await runBackfill(location, {
      provider, tenant, channelId: values.channel, limit,
      ...(values.before ? { before: values.before } : {}), ...(values.after ? { after: values.after } : {}),
      ...(values['job-id'] ? { jobId: values['job-id'] } : {}), ...(timeoutS ? { timeoutS } : {}),
    }, (text, final) => {
      if (tty) process.stderr.write(`\r\u001b[2K${text}${final ? '\n' : ''}`);
      else if (final || performance.now() - last > 1000) {
        last = performance.now();
        process.stderr.write(`${text}\n`);
      }
    });
    return outcome.ok ? 0 : 1;
  },
};
