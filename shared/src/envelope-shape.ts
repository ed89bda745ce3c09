/**
 * Envelope shapes: accepting the next envelope of a stream without parsing it again, when it looks
 * like one that was already checked.
 *
 * A media sender (the bridge's per-speaker PCM envelopes, 50 a second each) sends headers that
 * differ from one another only in a few scalar values: id, ts, corr, sequence numbers, timestamps.
 * Parsing and validating every header costs the hub more than anything else it does per envelope
 * (docs/benchmarks.md: V8's JSON.parse alone is ~22,000 instructions for a 437-byte PCM header).
 *
 * An {@link EnvelopeShape} is built from the bytes of a header that passed the full check
 * (JSON.parse + {@link parseEnvelopeFastOnly}): the bytes are split into constant segments and
 * scalar slots (ASCII strings without escapes, plain integers). A later header matches when every
 * constant segment is byte for byte the same and the values that changed pass the checks: id, ts,
 * corr and attachment sizes their envelope fields' checks, payload values the payload's compiled
 * check run again on the payload with the new values in (a payload check may involve several
 * fields). The envelope is then the checked one with those values replaced. Anything else (another
 * key, structure or literal, an escape, a non-ASCII byte, a fraction, a change in src, dst,
 * provider, tenant, intent or any other field) is no match, and the caller takes the full path,
 * which also words any error.
 * A match therefore accepts exactly what the full check accepts and returns the same envelope.
 *
 * Written here rather than taken from a JSON library: what makes it correct is a property of our
 * envelope schemas (which fields may change independently), not of JSON.
 */
import { UUID_V7_RE } from './ids.ts';
import { compiledPayloadCheck, isEnvelopeTimestamp, parseEnvelopeFastOnly, type Envelope } from './envelope.ts';
import { UNSURE, type FastParse } from './schemas/fast.ts';

type Path = readonly (string | number)[];
type Check = (value: string | number) => boolean;

interface Slot {
  int: boolean;
  /** Byte range of the value in the template (inside the quotes for a string). */
  start: number;
  end: number;
  path: Path;
  /**
   * The field's check; undefined = the value must stay as it was. Payload fields pass it and are
   * checked together afterwards: the payload's compiled check runs again on the changed payload,
   * since a payload check (`.refine()`) may involve several fields.
   */
  check: Check | undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Integers up to 15 digits are exact as doubles; longer ones take the full path. */
const MAX_INT_DIGITS = 15;

/** End of an escape-free printable-ASCII string's content starting at `at`, or -1. */
function scanString(b: Uint8Array, at: number): number {
  for (let i = at; i < b.length; i++) {
    const c = b[i]!;
    if (c === QUOTE) return i;
    if (c < 0x20 || c > 0x7e || c === BACKSLASH) return -1;
  }
  return -1;
}

/** End of a plain JSON integer (`0`, `[1-9][0-9]*`, optionally negative, not `-0`) starting at `at`, or -1. */
function scanInt(b: Uint8Array, at: number): number {
  let i = at;
  if (b[i] === 0x2d) i++;
  const first = i;
  while (i < b.length && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
  const digits = i - first;
  if (digits === 0 || digits > MAX_INT_DIGITS) return -1;
  if (b[first] === 0x30 && (digits > 1 || first > at)) return -1;
  const next = b[i];
  // A fraction or exponent continues the number: not a plain integer.
  if (next === 0x2e || next === 0x65 || next === 0x45) return -1;
  return i;
}

function ascii(b: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function intValue(b: Uint8Array, start: number, end: number): number {
  let i = start;
  const negative = b[i] === 0x2d;
  if (negative) i++;
  let n = 0;
  for (; i < end; i++) n = n * 10 + (b[i]! - 0x30);
  return negative ? -n : n;
}

function sameBytes(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[aAt + i] !== b[bAt + i]) return false;
  return true;
}

export class EnvelopeShape {
  readonly #bytes: Uint8Array;
  readonly #slots: Slot[];
  readonly #envelope: Envelope;
  readonly #payload: FastParse;

  private constructor(bytes: Uint8Array, slots: Slot[], envelope: Envelope, payload: FastParse) {
    this.#bytes = bytes;
    this.#slots = slots;
    this.#envelope = envelope;
    this.#payload = payload;
  }

  /**
   * The shape of `header` (the envelope's JSON bytes) when JSON.parse and the fast checks accept it;
   * undefined when they do not or when it has nothing to gain (duplicate keys, escaped keys).
   */
  static learn(header: Uint8Array, raw: unknown): EnvelopeShape | undefined {
    const envelope = parseEnvelopeFastOnly(raw);
    const payload = envelope && compiledPayloadCheck(envelope.intent);
    if (!envelope || !payload) return undefined;
    const bytes = header.slice();
    const slots = tokenize(bytes);
    return slots && new EnvelopeShape(bytes, slots, envelope, payload);
  }

  /** The envelope of `header` when it matches this shape (see the file comment); else undefined. */
  match(header: Uint8Array): Envelope | undefined {
    const t = this.#bytes;
    const slots = this.#slots;
    let at = 0;
    let prev = 0;
    let changes: (Slot | string | number)[] | undefined;
    for (const s of slots) {
      const seg = s.start - prev;
      if (at + seg > header.length || !sameBytes(header, at, t, prev, seg)) return undefined;
      at += seg;
      const end = s.int ? scanInt(header, at) : scanString(header, at);
      if (end < 0) return undefined;
      const length = end - at;
      if (length !== s.end - s.start || !sameBytes(header, at, t, s.start, length)) {
        if (!s.check) return undefined;
        const value = s.int ? intValue(header, at, end) : ascii(header, at, end);
        if (!s.check(value)) return undefined;
        (changes ??= []).push(s, value);
      }
      at = end;
      prev = s.end;
    }
    const tail = t.length - prev;
    if (header.length - at !== tail || !sameBytes(header, at, t, prev, tail)) return undefined;
    // Objects on unchanged paths are shared between matches: the envelope is read-only.
    if (!changes) return { ...this.#envelope };
    const env = withChanges(this.#envelope, changes);
    if (env.payload !== this.#envelope.payload) {
      const payload = this.#payload(env.payload);
      if (payload === UNSURE) return undefined;
      env.payload = payload as never;
    }
    return env;
  }
}

/** A copy of `env` with each changed slot's value set, copying only the objects on changed paths. */
function withChanges(env: Envelope, changes: (Slot | string | number)[]): Envelope {
  const root: Record<string, unknown> = { ...env };
  const copied = new Set<unknown>([root]);
  for (let i = 0; i < changes.length; i += 2) {
    const path = (changes[i] as Slot).path;
    let node = root as Record<string | number, unknown>;
    for (let d = 0; d < path.length - 1; d++) {
      const key = path[d]!;
      let child = node[key] as Record<string | number, unknown>;
      if (!copied.has(child)) {
        child = (Array.isArray(child) ? child.slice() : { ...child }) as Record<string | number, unknown>;
        copied.add(child);
        node[key] = child;
      }
      node = child;
    }
    node[path[path.length - 1]!] = changes[i + 1];
  }
  return root as unknown as Envelope;
}

/** Top-level fields that may change on their own, with the checks the envelope schema applies. */
const TOP_CHECKS: Record<string, Check> = {
  id: (v) => typeof v === 'string' && UUID_V7_RE.test(v),
  ts: (v) => typeof v === 'string' && isEnvelopeTimestamp(v),
  corr: (v) => typeof v === 'string' && v.length >= 1 && v.length <= 128,
};
const attachmentBytes: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** Placeholder for payload fields: the whole payload is checked once its values are in. */
const payloadCheck: Check = () => true;

/**
 * Splits checked JSON bytes into slots (returned in order) and the constant bytes between them.
 * Undefined when a key is escaped or non-ASCII or repeats in an object (JSON.parse keeps the last).
 */
function tokenize(b: Uint8Array): Slot[] | undefined {
  const slots: Slot[] = [];
  const path: (string | number)[] = [];
  let i = 0;
  const ws = (): void => {
    while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  };
  const skipString = (): void => {
    i++;
    while (b[i] !== QUOTE) i += b[i] === BACKSLASH ? 2 : 1;
    i++;
  };
  const checkFor = (): Check | undefined => {
    const top = path[0];
    if (path.length === 1 && typeof top === 'string') return Object.prototype.hasOwnProperty.call(TOP_CHECKS, top) ? TOP_CHECKS[top] : undefined;
    if (top === 'attachments' && path.length === 3 && path[2] === 'bytes') return attachmentBytes;
    if (top === 'payload') return payloadCheck;
    return undefined;
  };
  const value = (): boolean => {
    ws();
    const c = b[i]!;
    if (c === 0x7b) {
      i++;
      const keys = new Set<string>();
      ws();
      if (b[i] === 0x7d) {
        i++;
        return true;
      }
      for (;;) {
        ws();
        const start = i + 1;
        const end = scanString(b, start);
        if (end < 0) return false;
        const key = ascii(b, start, end);
        if (keys.has(key)) return false;
        keys.add(key);
        i = end + 1;
        ws();
        i++; // ':'
        path.push(key);
        if (!value()) return false;
        path.pop();
        ws();
        if (b[i++] === 0x7d) return true;
      }
    }
    if (c === 0x5b) {
      i++;
      ws();
      if (b[i] === 0x5d) {
        i++;
        return true;
      }
      for (let n = 0; ; n++) {
        path.push(n);
        if (!value()) return false;
        path.pop();
        ws();
        if (b[i++] === 0x5d) return true;
      }
    }
    if (c === QUOTE) {
      const end = scanString(b, i + 1);
      if (end < 0) {
        skipString(); // escaped or non-ASCII: stays constant
        return true;
      }
      slots.push({ int: false, start: i + 1, end, path: path.slice(), check: checkFor() });
      i = end + 1;
      return true;
    }
    const end = scanInt(b, i);
    if (end >= 0) {
      slots.push({ int: true, start: i, end, path: path.slice(), check: checkFor() });
      i = end;
      return true;
    }
    // true, false, null and other numbers stay constant.
    while (i < b.length && !(b[i] === 0x2c || b[i] === 0x7d || b[i] === 0x5d || b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
    return true;
  };
  return value() ? slots : undefined;
}

/**
 * A few shapes per sender (a connection), most recently matched first. Learning costs about one
 * more full check, so once the cache is full a miss replaces a shape only every few misses: a
 * sender whose envelopes never repeat a shape pays little for trying.
 */
export class EnvelopeShapeCache {
  readonly #shapes: EnvelopeShape[] = [];
  readonly #max: number;
  #misses = 0;
  hits = 0;

  constructor(max = 4) {
    this.#max = Math.max(1, max);
  }

  match(header: Uint8Array): Envelope | undefined {
    const shapes = this.#shapes;
    for (let k = 0; k < shapes.length; k++) {
      const env = shapes[k]!.match(header);
      if (env) {
        if (k > 0) shapes.unshift(shapes.splice(k, 1)[0]!);
        this.hits++;
        return env;
      }
    }
    return undefined;
  }

  /** Records the shape of a header that just passed the full check (parsed as `raw`). */
  learn(header: Uint8Array, raw: unknown): void {
    if (this.#shapes.length >= this.#max && this.#misses++ % 8 !== 0) return;
    const shape = EnvelopeShape.learn(header, raw);
    if (!shape) return;
    this.#shapes.unshift(shape);
    if (this.#shapes.length > this.#max) this.#shapes.pop();
  }
}
