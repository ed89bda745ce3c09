/** The hub's per-message work: ingest, authorise, route; and the one `error` reply per rejection. */
import { isTopicPattern, makeEnvelope } from '@promethean/shared';
import { isAuditedBotIntent, mayReceive, maySubscribe, publishRefusal, type EnvelopeScope } from './auth.ts';
import type { HubConnection } from './connection.ts';
import { ingest, type Rejection } from './ingest.ts';
import type { HubCounters } from './metrics.ts';
import { isMediaIntent, type HubOptions } from './options.ts';
import type { SubscriptionIndex } from './router.ts';
import { encodeServerFrame } from './ws-frame.ts';

export interface HubCore {
  options: HubOptions;
  counters: HubCounters;
  index: SubscriptionIndex<HubConnection>;
  /** Voice session → guild and channel, learned from agents' `voice.state.connected` (bounded). */
  sessions: Map<string, EnvelopeScope>;
}

/** Sessions remembered for scoping at most; beyond it the oldest is forgotten. */
const MAX_SESSIONS = 10_000;

/**
 * Where an envelope belongs below its tenant: its payload's `guild_id` / `channel_id`, or the guild
 * and channel of its `session_id` as the voice access agent announced them.
 */
export function envelopeScope(core: HubCore, payload: unknown): EnvelopeScope | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const p = payload as { guild_id?: unknown; channel_id?: unknown; session_id?: unknown };
  if (typeof p.guild_id === 'string') return { guild: p.guild_id, channel: typeof p.channel_id === 'string' ? p.channel_id : core.sessions.get(String(p.session_id))?.channel };
  return typeof p.session_id === 'string' ? core.sessions.get(p.session_id) : undefined;
}

function learnSession(core: HubCore, payload: unknown): void {
  const p = payload as { session_id?: unknown; guild_id?: unknown; channel_id?: unknown } | null;
  if (!p || typeof p.session_id !== 'string' || typeof p.guild_id !== 'string' || typeof p.channel_id !== 'string') return;
  if (!core.sessions.has(p.session_id) && core.sessions.size >= MAX_SESSIONS) {
    const oldest = core.sessions.keys().next().value;
    if (oldest !== undefined) core.sessions.delete(oldest);
  }
  core.sessions.set(p.session_id, { guild: p.guild_id, channel: p.channel_id });
}

/** Sends the typed `error` envelope for one rejected frame back on its connection, and counts it. */
export function sendError(core: HubCore, conn: HubConnection, r: Rejection): void {
  core.counters.error(r.code);
  const payload: Record<string, unknown> = { code: r.code, message: r.message.slice(0, 2000), retryable: false };
  if (r.path !== undefined) payload.path = r.path.slice(0, 256);
  if (r.ref_id !== undefined) payload.ref_id = r.ref_id;
  if (r.topic !== undefined) payload.topic = r.topic;
  const env = makeEnvelope('error', payload as never, {
    src: core.options.hubId,
    provider: r.provider ?? 'promethean',
    tenant: r.tenant ?? 'system',
  });
  conn.deliver(JSON.stringify(env), false, false);
}

export function handleMessage(core: HubCore, conn: HubConnection, data: Buffer, binary: boolean): void {
  if (conn.closed) return;
  if (conn.limits && !(conn.limits.messages.take(1) && conn.limits.bytes.take(data.length))) {
    // Over its rate: dropped and counted; one `rate_limited` error a second says so.
    conn.limited++;
    core.counters.rateLimited++;
    const now = performance.now();
    if (now - conn.lastLimitError >= 1000) {
      conn.lastLimitError = now;
      sendError(core, conn, { kind: 'reject', code: 'rate_limited', message: `over ${core.options.sessionLimits.messagesPerS} messages or ${core.options.sessionLimits.bytesPerS} bytes a second; ${conn.limited} dropped so far` });
    }
    return;
  }
  const r = ingest(data, binary, core.options.maxFrameBytes, conn.shapes);
  if (r.kind === 'reject') {
    sendError(core, conn, r);
    return;
  }
  if (r.kind === 'control') {
    const ref = r.ref;
    if (r.op === 'subscribe') {
      const tokens = r.pattern.split('.');
      if (!maySubscribe(conn.principal, tokens)) {
        sendError(core, conn, forbidden(`this token may not subscribe to "${r.pattern}"`, ref));
        return;
      }
      if (!conn.patterns.has(r.pattern) && conn.patterns.size >= core.options.maxSubscriptionsPerConnection) {
        sendError(core, conn, forbidden(`at most ${core.options.maxSubscriptionsPerConnection} subscriptions per connection`, ref));
        return;
      }
      const hook = core.options.beforeSubscribe;
      let pending: Promise<void> | void = undefined;
      try {
        pending = hook?.(conn.principal, r.pattern);
      } catch {
        sendError(core, conn, unrecorded(ref));
        return;
      }
      if (pending) {
        // Recorded first (the audit log), confirmed after: no record, no subscription.
        pending.then(
          () => addSubscription(core, conn, r.pattern, ref),
          () => sendError(core, conn, unrecorded(ref)),
        );
        return;
      }
      addSubscription(core, conn, r.pattern, ref);
      return;
    } else if (isTopicPattern(r.pattern)) {
      conn.patterns.delete(r.pattern);
      core.index.remove(r.pattern, conn);
    }
    conn.deliver(ref === undefined ? '{"op":"ack"}' : JSON.stringify({ op: 'ack', ref }), false, false);
    return;
  }
  const env = r.envelope;
  const refusal = publishRefusal(conn.principal, env, (sessionId) => core.sessions.get(sessionId), core.options.dsp);
  if (refusal !== undefined) {
    sendError(core, conn, { kind: 'reject', code: refusal.code, message: refusal.message, ref_id: env.id, ...(refusal.path !== undefined ? { path: refusal.path } : {}), provider: env.provider, tenant: env.tenant, topic: env.dst });
    return;
  }
  // A session's bot action (kill switch, "say this") is recorded first and delivered after: no record, no action.
  const hook = core.options.beforePublish;
  if (hook && conn.principal.role !== 'agent' && isAuditedBotIntent(env.intent)) {
    const unrecordedPublish = (): void => sendError(core, conn, { kind: 'reject', code: 'unavailable', message: `this ${env.intent} could not be written to the audit log, so it was not delivered; try again`, ref_id: env.id, provider: env.provider, tenant: env.tenant, topic: env.dst });
    let pending: Promise<void> | void = undefined;
    try {
      pending = hook(conn.principal, env, envelopeScope(core, env.payload));
    } catch {
      unrecordedPublish();
      return;
    }
    if (pending) {
      pending.then(
        () => route(core, conn, r),
        () => unrecordedPublish(),
      );
      return;
    }
  }
  route(core, conn, r);
}

/** Delivers an accepted envelope to every subscriber whose scope admits it. */
function route(core: HubCore, conn: HubConnection, r: Extract<ReturnType<typeof ingest>, { kind: 'publish' }>): void {
  const env = r.envelope;
  // Only agents (the voice access agent) tell the hub where a session lives.
  if (conn.principal.role === 'agent' && env.intent === 'voice.state.connected') learnSession(core, env.payload);
  core.counters.published++;
  const subscribers = core.index.match(env.dst);
  if (subscribers.length === 0) return;
  const media = isMediaIntent(env.intent);
  // Framed once, written to every subscriber as is.
  const frame = encodeServerFrame(r.data, r.binary);
  let scope: EnvelopeScope | undefined | null = null;
  for (const s of subscribers) {
    if (s.scoped) {
      // A session limited to a guild or channel gets only that guild's or channel's envelopes.
      if (scope === null) scope = envelopeScope(core, env.payload);
      if (!mayReceive(s.principal, scope)) {
        core.counters.outOfScope++;
        continue;
      }
    }
    s.deliver(r.data, r.binary, media, frame);
  }
}

function addSubscription(core: HubCore, conn: HubConnection, pattern: string, ref: string | undefined): void {
  if (conn.closed) return;
  if (!conn.patterns.has(pattern) && conn.patterns.size >= core.options.maxSubscriptionsPerConnection) {
    sendError(core, conn, forbidden(`at most ${core.options.maxSubscriptionsPerConnection} subscriptions per connection`, ref));
    return;
  }
  conn.patterns.add(pattern);
  core.index.add(pattern, conn);
  try {
    core.options.onSubscribe?.(conn.principal, pattern);
  } catch {
    core.counters.observerErrors++;
  }
  conn.deliver(ref === undefined ? '{"op":"ack"}' : JSON.stringify({ op: 'ack', ref }), false, false);
}

function unrecorded(ref: string | undefined): Rejection {
  const r: Rejection = { kind: 'reject', code: 'unavailable', message: 'this subscription could not be written to the audit log, so it is refused; try again' };
  if (ref !== undefined) r.ref_id = ref;
  return r;
}

function forbidden(message: string, ref: string | undefined): Rejection {
  const r: Rejection = { kind: 'reject', code: 'forbidden', message };
  if (ref !== undefined) r.ref_id = ref;
  return r;
}
