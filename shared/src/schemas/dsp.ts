/**
 * DSP offload intents (DESIGN.md "DSP offload", docs/dsp.md): browsers advertise capacity and renew
 * it by heartbeat; the server's scheduler leases each speaker stream's VAD to one runner (a browser
 * or the server's own worker) and says so with `dsp.lease`; the worker reports the streams it sees.
 */
import { z } from 'zod';
import { ForeignId } from './common.ts';

/** A console tab's runner id: random, chosen by the page, unique per tab. */
const RunnerId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be 8–64 characters of [A-Za-z0-9_-]');

/** A browser offers to run VAD for some streams (sent on connect, and again when it changes). */
export const DspCapacity = z.object({
  runner_id: RunnerId,
  /** `wasm`, `webgpu`, … (reported; ties are broken by score). */
  backend: z.string().min(1).max(32),
  threads: z.number().int().min(1).max(256),
  /** Measured speed (audio seconds processed per second of compute): higher is chosen first. */
  score: z.number().min(0).max(1e9),
  /** Streams it offers to run at once (0 = none for now). */
  capacity: z.number().int().min(0).max(256),
});

/** Renews a runner's leases; `lag_ms` is how far behind real time its DSP runs. */
export const DspHeartbeat = z.object({
  runner_id: RunnerId,
  lag_ms: z.number().min(0).max(3_600_000).default(0),
});

/** A runner stops (page hidden or closed): its streams move at once instead of at lease expiry. */
export const DspLeave = z.object({
  runner_id: RunnerId,
});

/**
 * Who runs a stream's VAD now (server → runners and the VAD worker, on every move). `holder` is
 * `server` (the server's VAD worker), `client:<session id>/<runner id>` (a console tab), or null
 * when the stream ended. The holder publishes `voice.audio.segment` from `next_index` on, with ids
 * `<session>.<user>.<epoch_ms>.<index>`.
 */
export const DspLease = z.object({
  session_id: z.string().min(1).max(200),
  user_id: ForeignId,
  holder: z.string().min(1).max(200).nullable(),
  next_index: z.number().int().min(0),
  epoch_ms: z.number().int().min(0),
  /** A client holder renews within this (heartbeat), or the stream moves back to the server. */
  lease_ms: z.number().int().min(0).max(600_000),
});

/** The VAD worker's streams of one provider/tenant (on every open and close, and every few seconds). */
export const DspStreams = z.object({
  streams: z
    .array(
      z.object({
        session_id: z.string().min(1).max(200),
        user_id: ForeignId,
        /** Origin of the stream's segment ids (ms since the epoch). */
        epoch_ms: z.number().int().min(0),
        /** The next segment index the worker would publish. */
        next_index: z.number().int().min(0),
        /** Whether the worker runs it now (false: a browser holds its lease). */
        running: z.boolean(),
      }),
    )
    .max(1024),
});

export const dspPayloads = {
  'dsp.capacity': DspCapacity,
  'dsp.heartbeat': DspHeartbeat,
  'dsp.leave': DspLeave,
  'dsp.lease': DspLease,
  'dsp.streams': DspStreams,
} as const;
