/**
 * The audit rows of the console's bot actions. A session's kill switch (`voice.play.stop`) and "say
 * this" (a console's `duck.reply.message`) are written here before the hub delivers them (its
 * `beforePublish` hook): no record, no action. The row names who (the session id, role and invited
 * name), where (provider, tenant, the voice session's guild and channel) and what (the voice session,
 * the lane, the reason; for "say this" the line itself and its sha-256).
 */
import { createHash } from 'node:crypto';
import type { Envelope } from '@promethean/shared';
import type { Principal } from '../hub/auth.ts';
import type { EnvelopeScope } from '../hub/auth.ts';
import type { AuditInput } from '../store/index.ts';

/** What the bot actions need of the store (the Store satisfies it). */
export interface BotAuditLog {
  appendAudit(entry: AuditInput): Promise<unknown>;
}

/** The audit action of a session's bot intent; undefined for intents that are not bot actions. */
export function botActionOf(intent: string): 'bot.silence' | 'bot.say' | undefined {
  if (intent === 'voice.play.stop') return 'bot.silence';
  if (intent === 'duck.reply.message') return 'bot.say';
  return undefined;
}

/** The actor column for a principal: `session:<sid>` for a browser, else its role. */
export function actorOf(principal: Principal): string {
  return principal.sid ? `session:${principal.sid}` : principal.agent ?? principal.role;
}

/** Writes the bot action `env` carries; resolves once it is on record. Undefined for other intents. */
export function auditBotAction(log: BotAuditLog, principal: Principal, env: Envelope, scope: EnvelopeScope | undefined): Promise<void> | undefined {
  const action = botActionOf(env.intent);
  if (!action) return undefined;
  const p = env.payload as { session_id?: string; lane?: string; reason?: string; segment_id?: string; text?: string };
  const detail: Record<string, unknown> = { role: principal.role, session_id: p.session_id, envelope_id: env.id };
  if (principal.name) detail.name = principal.name;
  if (action === 'bot.silence') {
    if (p.lane) detail.lane = p.lane;
    if (p.reason) detail.reason = p.reason;
  } else {
    const text = String(p.text ?? '');
    detail.segment_id = p.segment_id;
    detail.text = text;
    detail.text_sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
  }
  return log
    .appendAudit({
      provider: env.provider,
      tenant: env.tenant,
      guild_id: scope?.guild ?? principal.guild ?? null,
      channel_id: scope?.channel ?? principal.channel ?? null,
      actor: actorOf(principal),
      action,
      detail: JSON.stringify(detail),
    })
    .then(() => undefined);
}
