/**
 * The VAD worker's side of the DSP offload (docs/dsp.md "Offload"): the latest `dsp.lease` of each
 * stream: the worker runs a stream only while the server holds it, from the index and epoch the
 * scheduler hands over, and pauses it while a browser holds it. A stream opens running (no lease
 * yet: the scheduler learns of it from the worker's `dsp.streams` report and places it), so without a
 * scheduler the worker runs every stream, as it did before leases existed.
 */
import { DspLease, PrometheanError, type Envelope, type PayloadOf } from '@promethean/shared';

/** The `holder` that means the server's own worker. */
export const SERVER_HOLDER = 'server';

export type VadLease = PayloadOf<'dsp.lease'>;

export function parseLease(env: Envelope): VadLease {
  const r = DspLease.safeParse(env.payload);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = ['payload', ...(issue?.path ?? []).map(String)].join('.');
    throw new PrometheanError('schema', `dsp.lease ${path}: ${issue?.message ?? 'invalid'}`, { path });
  }
  return r.data;
}
