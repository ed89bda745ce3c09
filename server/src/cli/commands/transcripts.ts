/**
 * `promethean transcripts delete --user ID --yes`: deletes everything one user said (their stored
 * transcript lines) in a tenant, working on the server's database directly like `promethean audit`
 * (PGlite: stop the server first; PostgreSQL: next to a live server). On the audit log, chained like
 * every row, before anything is deleted (`transcripts.delete`), and the count after
 * (`transcripts.deleted`). The owners' console does the same over HTTP (`DELETE
 * /api/transcripts/speakers/:user_id`).
 */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { PrometheanError } from '@promethean/shared';
import { PROJECT_ROOT } from '../../app.ts';
import { openAuditChain, openAuditStore, readAuditKey } from '../../audit/index.ts';
import { parseFlags, type Command } from '../args.ts';
import { cliActor } from './audit.ts';

const ID_RE = /^[0-9A-Za-z_.@-]{1,128}$/;
const NAME_RE = /^[a-z0-9_-]{1,64}$/;

export interface DeleteFlags {
  user: string;
  tenant: string;
  provider: string;
  dataDir: string;
}

/** Checks the flags of `delete`; a `bad_flag` error names the one that is wrong. */
export function parseDeleteFlags(argv: string[]): DeleteFlags {
  const { values } = parseFlags(argv, {
    user: { type: 'string' }, tenant: { type: 'string' }, provider: { type: 'string' }, 'data-dir': { type: 'string' }, yes: { type: 'boolean' },
  });
  if (values.user === undefined) throw new PrometheanError('bad_flag', '--user is required (the user id whose transcripts go)');
  if (!ID_RE.test(values.user)) throw new PrometheanError('bad_flag', `--user must be a user id (letters, digits, _ . @ -), got "${values.user}"`);
  const tenant = values.tenant ?? 'demo';
  if (!NAME_RE.test(tenant)) throw new PrometheanError('bad_flag', `--tenant must be a tenant id (a-z 0-9 _ -), got "${tenant}"`);
  const provider = values.provider ?? 'discord';
  if (!NAME_RE.test(provider)) throw new PrometheanError('bad_flag', `--provider must be a provider name (a-z 0-9 _ -), got "${provider}"`);
  if (values.yes !== true) {
    throw new PrometheanError('bad_flag', `this deletes every transcript line of user ${values.user} in ${provider}/${tenant} and cannot be undone; add --yes to confirm`);
  }
  return { user: values.user, tenant, provider, dataDir: values['data-dir'] ? resolve(values['data-dir']) : join(PROJECT_ROOT, '.data') };
}

async function deleteCommand(argv: string[]): Promise<number> {
  const f = parseDeleteFlags(argv);
  await readAuditKey(f.dataDir);
  const store = await openAuditStore({ dataDir: f.dataDir, env: process.env });
  try {
    // The rows are chained like every other, so the key and head file are attached first.
    await openAuditChain(store, { dataDir: f.dataDir, log: (line) => console.error(line), createKey: false });
    const base = { provider: f.provider, tenant: f.tenant, guild_id: null, channel_id: null, actor: cliActor() };
    const asked = await store.appendAudit({ ...base, action: 'transcripts.delete', detail: { user_id: f.user, scope: { kind: 'tenant' }, via: 'cli', host: hostname(), pid: process.pid } });
    const deleted = await store.deleteSpeakerTranscripts({ provider: f.provider, tenant: f.tenant }, f.user);
    const done = await store.appendAudit({ ...base, action: 'transcripts.deleted', detail: { user_id: f.user, deleted, request_audit_id: asked.id } });
    console.log(`deleted ${deleted} transcript line${deleted === 1 ? '' : 's'} of user ${f.user} in ${f.provider}/${f.tenant}; recorded as audit seq ${asked.seq ?? asked.id} and ${done.seq ?? done.id}`);
    return 0;
  } finally {
    await store.close();
  }
}

export const transcriptsCommand: Command = {
  name: 'transcripts',
  summary: 'delete a user\'s stored transcripts (on record in the audit log)',
  usage: `Usage: promethean transcripts delete --user ID --yes [--tenant T] [--provider P] [--data-dir DIR]

Deletes every stored transcript line of one user in a tenant (all guilds and sessions), after
recording the request in the audit log (transcripts.delete); the number of lines deleted is recorded
after (transcripts.deleted). Owners can do the same from the console (DELETE
/api/transcripts/speakers/:user_id), limited to their guild when their session is.

Opens the server's database itself: PGlite under <data dir>/pglite (stop \`promethean start\` first:
PGlite allows one process at a time), or PostgreSQL when DATABASE_URL is set (a live server is fine).

Options:
  --user <id>        the user whose transcripts go (required)
  --yes              confirm: without it nothing is deleted
  --tenant <id>      the tenant (default demo)
  --provider <name>  the provider (default discord)
  --data-dir <dir>   the server's data directory (default .data in the project)
  -h, --help         this text`,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'delete') return deleteCommand(rest);
    throw new PrometheanError('bad_flag', sub === undefined ? 'say what to do: delete' : `unknown subcommand "${sub}"; say delete`);
  },
};
