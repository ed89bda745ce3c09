/** The hub's per-message work: ingest, authorise, route; and the one `error` reply per rejection. */
import { isTopicPattern, makeEnvelope } from '@promethean/shared';
import { mayPublish, maySubscribe } from './auth.ts';
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
  const r = ingest(data, binary, core.options.maxFrameBytes);
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
      conn.patterns.add(r.pattern);
      core.index.add(r.pattern, conn);
      try {
        core.options.onSubscribe?.(conn.principal, r.pattern);
      } catch {
        core.counters.observerErrors++;
      }
    } else if (isTopicPattern(r.pattern)) {
      conn.patterns.delete(r.pattern);
      core.index.remove(r.pattern, conn);
    }
    conn.deliver(ref === undefined ? '{"op":"ack"}' : JSON.stringify({ op: 'ack', ref }), false, false);
    return;
  }
  const env = r.envelope;
  if (!mayPublish(conn.principal, env.tenant)) {
    sendError(core, conn, { ...forbidden(`this token may not publish to tenant "${env.tenant}"`, env.id), provider: env.provider, tenant: env.tenant, topic: env.dst });
    return;
  }
  core.counters.published++;
  const subscribers = core.index.match(env.dst);
  if (subscribers.length === 0) return;
  const media = isMediaIntent(env.intent);
  // Framed once, written to every subscriber as is.
  const frame = encodeServerFrame(r.data, r.binary);
  for (const s of subscribers) s.deliver(r.data, r.binary, media, frame);
}

function forbidden(message: string, ref: string | undefined): Rejection {
  const r: Rejection = { kind: 'reject', code: 'forbidden', message };
  if (ref !== undefined) r.ref_id = ref;
  return r;
}
