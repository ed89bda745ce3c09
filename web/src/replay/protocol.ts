/** Messages between the page and the capture worker (`capture.worker.ts`). */

/** `RTCRtpScriptTransform` options: whose receiver this is. */
export interface CaptureTransformOptions {
  user_id: string;
  mid: string;
}

export interface CaptureStats {
  user_id: string;
  frames: number;
  bytes: number;
  /** Session-clock ns (decimal strings) of the oldest and newest frame held; null when empty. */
  first_ns: string | null;
  last_ns: string | null;
  /** Frames dropped because a bound was hit. */
  overflowed: number;
  /** Where the clock's anchor came from. */
  clock: 'relay' | 'receive' | null;
  /** Frames passed through since the transform was attached (counted even when replay is off). */
  seen: number;
  /** The newest frame's RTP timestamp as received (32-bit), for the mapping check. */
  last_rtp: number | null;
  /** The newest frame: its stream, RTP timestamp and session-clock ns (kept even when replay is off). */
  newest: { ssrc: number; rtp: number; ns: string } | null;
}

export interface ClipFrame {
  /** Ticks (48 kHz) from the clip's start. */
  offset: number;
  data: ArrayBuffer;
}

export type CaptureRequest =
  | { type: 'stats'; id: number }
  | { type: 'diag'; id: number }
  | { type: 'clip'; id: number; user_id: string; from_ns: string; to_ns: string }
  | { type: 'enable'; id: number; on: boolean }
  | { type: 'forget'; id: number; user_id: string }
  /** A relay anchor (`voice.relay.anchor`): `rtp` as relayed, `ns` on the bridge's clock (decimal string). */
  | { type: 'anchor'; id: number; user_id: string; rtp: number; ns: string };

export type CaptureResponse =
  | { type: 'stats'; id: number; stats: CaptureStats[] }
  | { type: 'clip'; id: number; user_id: string; from_ns: string; to_ns: string; rate: number; frames: ClipFrame[] }
  | { type: 'diag'; id: number; transforms: number; frames: number; unreadable: number; last_meta: string | null }
  | { type: 'ok'; id: number }
  | { type: 'anchor'; id: number; applied: boolean }
  | { type: 'error'; id: number; message: string };
