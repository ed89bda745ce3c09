/** `promethean invite`: a one-time login link for a named moderator, limited to a guild (and channel). */
import { join, resolve } from 'node:path';
import { PrometheanError } from '@promethean/shared';
import { PROJECT_ROOT } from '../../app.ts';
import { parseFlags, type Command } from '../args.ts';
import { locateHub } from '../hub-connection.ts';

/** `90s`, `30m`, `8h`, `2d` or plain seconds → seconds; bad_flag otherwise. */
export function parseTtl(value: string): number {
  const m = /^(\d{1,7})(s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new PrometheanError('bad_flag', `--ttl must look like 30m, 8h or 2d, got "${value}"`);
  const n = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  if (n < 60 || n > 30 * 86_400) throw new PrometheanError('bad_flag', `--ttl must be from 1m to 30d, got "${value}"`);
  return n;
}

export const inviteCommand: Command = {
  name: 'invite',
  summary: 'print a one-time login link for a named moderator of a guild (or channel)',
  usage: `Usage: promethean invite --name NAME --guild GUILD_ID [--channel CHANNEL_ID] [--role moderator|owner] [--ttl 8h] [--data-dir DIR]

Asks the running server for a one-time login link (valid 10 minutes) for the person named, limited to
one guild (and, with --channel, one voice channel). The session the link becomes lasts --ttl. The
invitation is written to the audit log; owners list and revoke sessions in the console.

Options:
  --name <text>        who the link is for (free text or their Discord id)
  --guild <id>         the guild they may listen to
  --channel <id>       only this voice channel
  --role <role>        moderator (default) or owner
  --ttl <duration>     session lifetime: 30m, 8h (default), 2d … up to 30d
  --tenant <id>        tenant (default demo)
  --data-dir <dir>     data directory of the running server (default .data in the project)
  -h, --help           this text`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      name: { type: 'string' },
      guild: { type: 'string' },
      channel: { type: 'string' },
      role: { type: 'string' },
      ttl: { type: 'string' },
      tenant: { type: 'string' },
      'data-dir': { type: 'string' },
    });
    if (!values.name?.trim()) throw new PrometheanError('bad_flag', '--name is required');
    if (!values.guild || !/^\d{1,20}$/.test(values.guild)) throw new PrometheanError('bad_flag', '--guild must be a Discord guild id');
    if (values.channel !== undefined && !/^\d{1,20}$/.test(values.channel)) throw new PrometheanError('bad_flag', '--channel must be a Discord channel id');
    const role = values.role ?? 'moderator';
    if (role !== 'moderator' && role !== 'owner') throw new PrometheanError('bad_flag', `--role must be moderator or owner, got "${role}"`);
    const ttl = parseTtl(values.ttl ?? '8h');
    const location = await locateHub({ dataDir: values['data-dir'] ? resolve(values['data-dir']) : join(PROJECT_ROOT, '.data') }).catch((cause: unknown) => {
      throw new PrometheanError('unavailable', `no running server found (${(cause as Error).message}); start one with \`npm start\``, { cause });
    });
    const http = location.url.replace(/^ws/, 'http').replace(/\/bus$/, '');
    const res = await fetch(`${http}/api/invitations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${location.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: values.name.trim(), guild_id: values.guild, ...(values.channel ? { channel_id: values.channel } : {}), role, ttl_s: ttl, ...(values.tenant ? { tenant: values.tenant } : {}) }),
    }).catch((cause: unknown) => {
      throw new PrometheanError('unavailable', `the server at ${http} does not answer (${(cause as Error).message}); is it running?`, { cause });
    });
    const body = (await res.json().catch(() => ({}))) as { link?: string; expires_at?: string; error?: { message?: string } };
    if (!res.ok || !body.link) throw new PrometheanError('internal', `the server refused: ${body.error?.message ?? res.statusText}`);
    console.log(body.link);
    console.error(`link for ${values.name.trim()} (${role}, guild ${values.guild}${values.channel ? `, channel ${values.channel}` : ''}); open it before ${body.expires_at}; the session lasts ${values.ttl ?? '8h'}`);
    return 0;
  },
};
