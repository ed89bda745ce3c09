/** The retention setting: `provider/tenant=days` pairs, comma-separated, `*=days` for every other tenant. */
import { PrometheanError } from '@promethean/shared';

const PAIR = /^(\*|[a-z0-9_-]+\/[a-z0-9_-]+)=([0-9]+(?:\.[0-9]+)?)$/;

/** `"discord/demo=30,*=365"` → `{ 'discord/demo': 30, '*': 365 }`; a bad pair is a `bad_config` error naming it. */
export function parseRetention(text: string | undefined, field = 'PROMETHEAN_INDEXER_RETENTION'): Record<string, number> {
  const out: Record<string, number> = {};
  if (text === undefined || text.trim() === '') return out;
  for (const raw of text.split(',')) {
    const pair = raw.trim();
    const m = PAIR.exec(pair);
    if (!m) throw new PrometheanError('bad_config', `${field}: "${pair}" is not provider/tenant=days or *=days`, { path: field });
    const days = Number(m[2]);
    if (!(days > 0)) throw new PrometheanError('bad_config', `${field}: "${pair}" needs a positive number of days`, { path: field });
    if (m[1]! in out) throw new PrometheanError('bad_config', `${field}: "${m[1]}" appears twice`, { path: field });
    out[m[1]!] = days;
  }
  return out;
}
