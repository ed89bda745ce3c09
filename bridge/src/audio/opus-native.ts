/**
 * A small binding to the system's libopus (Debian package `libopus0`) through koffi: decoder with
 * FEC and PLC, and an encoder for playback. One library handle per process, loaded on first use.
 */
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import koffi from 'koffi';
import { InvalidStateError } from '@promethean/shared';
import { OpusError, OpusLibraryMissingError } from '../util/errors.ts';

export const OPUS_RATE = 48000;
/** Samples per channel in a 20 ms frame at 48 kHz. */
export const OPUS_FRAME_SAMPLES = 960;
/** The largest frame libopus can return (120 ms at 48 kHz). */
export const OPUS_MAX_FRAME_SAMPLES = 5760;

export const OPUS_APPLICATION_VOIP = 2048;
export const OPUS_APPLICATION_AUDIO = 2049;
const OPUS_SET_BITRATE_REQUEST = 4002;
const OPUS_SET_INBAND_FEC_REQUEST = 4012;
const OPUS_SET_PACKET_LOSS_PERC_REQUEST = 4014;

const COMMON_PATHS = [
  '/lib/x86_64-linux-gnu/libopus.so.0',
  '/usr/lib/x86_64-linux-gnu/libopus.so.0',
  '/lib/aarch64-linux-gnu/libopus.so.0',
  '/usr/lib/aarch64-linux-gnu/libopus.so.0',
  '/usr/lib64/libopus.so.0',
  '/usr/lib/libopus.so.0',
  '/usr/local/lib/libopus.so.0',
  '/opt/homebrew/lib/libopus.0.dylib',
  '/usr/local/lib/libopus.0.dylib',
];

const INSTALL_HINT = 'install it with `apt-get install libopus0` (Debian/Ubuntu)';

/** Finds libopus.so.0: `ldconfig -p` first, then common paths. Returns undefined when absent. */
export function findLibopus(): string | undefined {
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    try {
      const out = execFileSync(ldconfig, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
      for (const line of out.split('\n')) {
        const m = /^\s*libopus\.so\.0 \(([^)]*)\) => (\S+)/.exec(line);
        if (m && (process.arch !== 'x64' || m[1]!.includes('x86-64')) && existsSync(m[2]!)) return m[2]!;
      }
      break;
    } catch {
      // try the next ldconfig location, then the common paths
    }
  }
  return COMMON_PATHS.find((p) => existsSync(p));
}

interface OpusLib {
  decoderCreate: (fs: number, channels: number, error: Int32Array) => unknown;
  decode: (st: unknown, data: Uint8Array | null, len: number, pcm: Int16Array, frameSize: number, fec: number) => number;
  decoderDestroy: (st: unknown) => void;
  encoderCreate: (fs: number, channels: number, application: number, error: Int32Array) => unknown;
  encode: (st: unknown, pcm: Int16Array, frameSize: number, data: Uint8Array, max: number) => number;
  encoderCtl: (st: unknown, request: number, ...rest: unknown[]) => number;
  encoderDestroy: (st: unknown) => void;
  version: () => string;
  path: string;
}

let loaded: OpusLib | undefined;

/**
 * Loads libopus once; throws {@link OpusLibraryMissingError} with an install hint when it is absent.
 * The search (`ldconfig -p`, a child process) runs only until the library is loaded, not per decoder.
 */
export function loadOpus(path?: string): OpusLib {
  if (loaded) return loaded;
  path ??= findLibopus();
  if (!path) throw new OpusLibraryMissingError(`libopus.so.0 not found (ldconfig -p and common paths): ${INSTALL_HINT}`);
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load(path);
  } catch (cause) {
    throw new OpusLibraryMissingError(`cannot load ${path}: ${(cause as Error).message}; ${INSTALL_HINT}`, { cause });
  }
  const Dec = koffi.pointer(koffi.opaque('OpusDecoder'));
  const Enc = koffi.pointer(koffi.opaque('OpusEncoder'));
  loaded = {
    decoderCreate: lib.func('opus_decoder_create', Dec, ['int32_t', 'int', koffi.out(koffi.pointer('int'))]),
    decode: lib.func('opus_decode', 'int', [Dec, 'const uint8_t *', 'int32_t', koffi.out(koffi.pointer('int16_t')), 'int', 'int']),
    decoderDestroy: lib.func('opus_decoder_destroy', 'void', [Dec]),
    encoderCreate: lib.func('opus_encoder_create', Enc, ['int32_t', 'int', 'int', koffi.out(koffi.pointer('int'))]),
    encode: lib.func('opus_encode', 'int32_t', [Enc, 'const int16_t *', 'int', koffi.out(koffi.pointer('uint8_t')), 'int32_t']),
    encoderCtl: lib.func('int opus_encoder_ctl(OpusEncoder *st, int request, ...)'),
    encoderDestroy: lib.func('opus_encoder_destroy', 'void', [Enc]),
    version: lib.func('opus_get_version_string', 'const char *', []),
    path,
  } as OpusLib;
  return loaded;
}

/** True when libopus can be loaded here (for tests and start-up checks). */
export function opusAvailable(): boolean {
  try {
    loadOpus();
    return true;
  } catch {
    return false;
  }
}

/** A libopus decoder at 48 kHz. Output is interleaved s16 (`channels` per sample). */
export class OpusDecoder {
  readonly channels: 1 | 2;
  private readonly lib: OpusLib;
  private state: unknown;
  private readonly out = new Int16Array(OPUS_MAX_FRAME_SAMPLES * 2);

  constructor(channels: 1 | 2 = 2) {
    this.lib = loadOpus();
    this.channels = channels;
    const err = new Int32Array(1);
    this.state = this.lib.decoderCreate(OPUS_RATE, channels, err);
    if (err[0] !== 0 || !this.state) throw new OpusError('opus_decoder_create', err[0] ?? -3);
  }

  get closed(): boolean {
    return this.state === undefined;
  }

  /** Decodes one packet. Returns a view valid until the next call (copy it to keep it). */
  decode(packet: Uint8Array): Int16Array {
    return this.run(packet, OPUS_MAX_FRAME_SAMPLES, 0, 'opus_decode');
  }

  /**
   * Recovers the packet *before* `nextPacket` from its in-band FEC (LBRR) data. Where the packet
   * carries none, libopus conceals instead. `frameSamples` is the lost frame's length (960 for 20 ms).
   */
  decodeFec(nextPacket: Uint8Array, frameSamples = OPUS_FRAME_SAMPLES): Int16Array {
    return this.run(nextPacket, frameSamples, 1, 'opus_decode(fec)');
  }

  /** Packet-loss concealment for one lost frame of `frameSamples` samples. */
  conceal(frameSamples = OPUS_FRAME_SAMPLES): Int16Array {
    return this.run(null, frameSamples, 0, 'opus_decode(plc)');
  }

  close(): void {
    if (this.state === undefined) return;
    this.lib.decoderDestroy(this.state);
    this.state = undefined;
  }

  private run(data: Uint8Array | null, frameSize: number, fec: number, op: string): Int16Array {
    if (this.state === undefined) throw new InvalidStateError('OpusDecoder is closed');
    const n = this.lib.decode(this.state, data, data ? data.byteLength : 0, this.out, frameSize, fec);
    if (n < 0) throw new OpusError(op, n);
    return this.out.subarray(0, n * this.channels);
  }
}

export interface OpusEncoderOptions {
  /** 1 or 2 interleaved channels. */
  channels: 1 | 2;
  /** Target bitrate in bits per second. */
  bitrate: number;
  /** OPUS_APPLICATION_VOIP or OPUS_APPLICATION_AUDIO. */
  application: number;
  /** Emit in-band FEC (LBRR) so a receiver can recover a lost packet from the next one. */
  inbandFec: boolean;
  /** Expected loss percentage (FEC needs > 0 to be emitted). */
  packetLossPercent: number;
}

export const defaultOpusEncoderOptions: OpusEncoderOptions = {
  channels: 2,
  bitrate: 64000,
  application: OPUS_APPLICATION_AUDIO,
  inbandFec: false,
  packetLossPercent: 0,
};

/** A libopus encoder at 48 kHz. */
export class OpusEncoder {
  readonly options: OpusEncoderOptions;
  private readonly lib: OpusLib;
  private state: unknown;
  private readonly out = new Uint8Array(4000);

  constructor(options: Partial<OpusEncoderOptions> = {}) {
    this.options = { ...defaultOpusEncoderOptions, ...options };
    this.lib = loadOpus();
    const err = new Int32Array(1);
    this.state = this.lib.encoderCreate(OPUS_RATE, this.options.channels, this.options.application, err);
    if (err[0] !== 0 || !this.state) throw new OpusError('opus_encoder_create', err[0] ?? -3);
    this.setBitrate(this.options.bitrate);
    this.ctl(OPUS_SET_INBAND_FEC_REQUEST, this.options.inbandFec ? 1 : 0);
    this.ctl(OPUS_SET_PACKET_LOSS_PERC_REQUEST, this.options.packetLossPercent);
  }

  setBitrate(bitrate: number): void {
    this.ctl(OPUS_SET_BITRATE_REQUEST, bitrate);
  }

  /** Encodes one frame of interleaved s16 samples (960 per channel for 20 ms); returns a new packet. */
  encode(pcm: Int16Array): Uint8Array {
    if (this.state === undefined) throw new InvalidStateError('OpusEncoder is closed');
    const frameSize = pcm.length / this.options.channels;
    const n = this.lib.encode(this.state, pcm, frameSize, this.out, this.out.byteLength);
    if (n < 0) throw new OpusError('opus_encode', n);
    return this.out.slice(0, n);
  }

  close(): void {
    if (this.state === undefined) return;
    this.lib.encoderDestroy(this.state);
    this.state = undefined;
  }

  private ctl(request: number, value: number): void {
    if (this.state === undefined) throw new InvalidStateError('OpusEncoder is closed');
    const status = this.lib.encoderCtl(this.state, request, 'int', value);
    if (status < 0) throw new OpusError(`opus_encoder_ctl(${request})`, status);
  }
}
