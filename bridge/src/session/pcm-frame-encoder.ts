/**
 * Encodes `voice.audio.pcm` bus frames without building the envelope from scratch each time: the JSON
 * that is the same for every frame of one (session, user) (src, dst, provider, tenant, intent, stamps,
 * session_id, user_id, format) is serialized once, and each frame splices in its own
 * ts_monotonic_ns, rtp fields, id and ts. The result is byte-for-byte a frame `decodeFrame` reads and
 * `parseEnvelope` accepts (see the test), at a fraction of makeEnvelope + encodeFrame's cost.
 *
 * It serializes exactly the payload fields {@link PcmPublisher} sets; it is a `PcmSend` target for a
 * bus that can take an encoded frame.
 */
import { randomFillSync } from 'node:crypto';
import { topic, type PayloadOf } from '@promethean/shared';

export interface PcmFrameEncoderOptions {
  /** The publishing agent (`src`). */
  src: string;
  provider: string;
  tenant: string;
  sessionId: string;
  /** Stamps the agent runtime adds to every envelope. */
  build_sha?: string;
  config_rev?: string;
  models?: { name: string; version: string; checksum?: string }[];
}

const ASCII_RE = /^[\x20-\x7e]*$/;

export class PcmFrameEncoder {
  readonly options: PcmFrameEncoderOptions;
  private readonly common: string;
  private readonly prefixes = new Map<string, { text: string; ascii: boolean }>();
  private readonly ids = new UuidV7Source();
  private isoMs = -1;
  private iso = '';

  constructor(options: PcmFrameEncoderOptions) {
    this.options = options;
    const o = options;
    let common = `{"src":${JSON.stringify(o.src)},"dst":${JSON.stringify(topic(o.provider, o.tenant, 'voice.audio.pcm'))},"provider":${JSON.stringify(o.provider)},"tenant":${JSON.stringify(o.tenant)},"intent":"voice.audio.pcm"`;
    if (o.build_sha !== undefined) common += `,"build_sha":${JSON.stringify(o.build_sha)}`;
    if (o.config_rev !== undefined) common += `,"config_rev":${JSON.stringify(o.config_rev)}`;
    if (o.models !== undefined) common += `,"models":${JSON.stringify(o.models)}`;
    this.common = `${common},"payload":{"session_id":${JSON.stringify(o.sessionId)}`;
  }

  /** One binary frame: u32 BE header length, the envelope JSON, the PCM attachment. */
  encode(payload: PayloadOf<'voice.audio.pcm'>, pcm: Uint8Array): Uint8Array {
    if (payload.session_id !== this.options.sessionId) throw new RangeError(`PcmFrameEncoder for session ${this.options.sessionId} got a frame of session ${payload.session_id}`);
    const prefix = this.prefix(payload);
    const r = payload.rtp;
    let rtp = `"rtp":{"ssrc":${r.ssrc},"seq":${r.seq},"timestamp":${r.timestamp}`;
    if (r.lost !== undefined) rtp += `,"lost":${num(r.lost)}`;
    if (r.jitter !== undefined) rtp += `,"jitter":${num(r.jitter)}`;
    if (r.concealed !== undefined) rtp += `,"concealed":"${r.concealed}"`;
    const now = Date.now();
    if (now !== this.isoMs) {
      this.isoMs = now;
      this.iso = new Date(now).toISOString();
    }
    const header = `${prefix.text}"ts_monotonic_ns":"${payload.ts_monotonic_ns}",${rtp}}},"id":"${this.ids.next(now)}","ts":"${this.iso}","attachments":[{"bytes":${pcm.byteLength}}]}`;
    const headerBytes = prefix.ascii ? header.length : Buffer.byteLength(header, 'utf8');
    const out = Buffer.allocUnsafe(4 + headerBytes + pcm.byteLength);
    out.writeUInt32BE(headerBytes, 0);
    out.write(header, 4, headerBytes, prefix.ascii ? 'latin1' : 'utf8');
    out.set(pcm, 4 + headerBytes);
    return out;
  }

  /** Forgets a user's cached prefix (they left). */
  forget(userId: string): void {
    this.prefixes.delete(userId);
  }

  private prefix(payload: PayloadOf<'voice.audio.pcm'>): { text: string; ascii: boolean } {
    let p = this.prefixes.get(payload.user_id);
    if (!p) {
      const text = `${this.common},"user_id":${JSON.stringify(payload.user_id)},"format":${JSON.stringify(payload.format)},"attachment":${payload.attachment ?? 0},`;
      p = { text, ascii: ASCII_RE.test(text) };
      this.prefixes.set(payload.user_id, p);
    }
    return p;
  }
}

/** A number as JSON writes it (non-finite → null). */
function num(v: number): string {
  return Number.isFinite(v) ? String(v) : 'null';
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * UUID v7 ids (RFC 9562) as shared's `uuidv7` makes them — 48-bit ms time, a 12-bit counter that keeps
 * ids ordered within a millisecond, random tail — but with random bytes drawn 4 KiB at a time instead of
 * one getRandomValues call per id.
 */
export class UuidV7Source {
  private readonly pool = Buffer.allocUnsafe(4096);
  private at = 4096;
  private lastMs = 0;
  private seq = 0;

  next(now: number = Date.now()): string {
    if (this.at + 10 > this.pool.length) {
      randomFillSync(this.pool);
      this.at = 0;
    }
    const r = this.pool;
    const a = this.at;
    this.at += 10;
    if (now <= this.lastMs) {
      this.seq = (this.seq + 1) & 0xfff;
      if (this.seq === 0) this.lastMs += 1;
      now = this.lastMs;
    } else {
      this.lastMs = now;
      this.seq = r[a]! & 0x07;
    }
    const hi = Math.floor(now / 0x1000000); // top 24 bits of the 48-bit time
    const lo = now % 0x1000000;
    const time = HEX[(hi >> 16) & 0xff]! + HEX[(hi >> 8) & 0xff]! + HEX[hi & 0xff]! + HEX[(lo >> 16) & 0xff]! + HEX[(lo >> 8) & 0xff]! + HEX[lo & 0xff]!;
    return `${time.slice(0, 8)}-${time.slice(8)}-${HEX[0x70 | ((this.seq >> 8) & 0x0f)]}${HEX[this.seq & 0xff]}-${HEX[0x80 | (r[a + 1]! & 0x3f)]}${HEX[r[a + 2]!]}-${HEX[r[a + 3]!]}${HEX[r[a + 4]!]}${HEX[r[a + 5]!]}${HEX[r[a + 6]!]}${HEX[r[a + 7]!]}${HEX[r[a + 8]!]}`;
  }
}
