/**
 * Message attachments on the stand-in's CDN, at Discord's path
 * `/attachments/{channel}/{attachment}/{filename}`, with Discord's signed, expiring query:
 * `ex` (expiry, unix seconds in hex), `is` (issued, hex) and `hm` (an HMAC over path, ex and is). A
 * URL past its expiry, or with a wrong signature, is a 404, as on Discord; `refresh()` signs a fresh
 * one (Discord: `POST /attachments/refresh-urls`).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StoredAttachment } from './store.ts';

export interface AttachmentBytes extends StoredAttachment {
  channelId: string;
  bytes: Buffer;
}

/** Total attachment bytes kept; adding beyond it throws (the stand-in is for tests, not storage). */
export const MAX_ATTACHMENT_BYTES = 256 * 1024 * 1024;
/** One attachment's most bytes (Discord's default upload limit is 10 MiB). */
export const MAX_ATTACHMENT_SIZE = 10 * 1024 * 1024;

const PATH = /^\/attachments\/(\d{1,20})\/(\d{1,20})\/([^/]{1,255})$/;

export class AttachmentCdn {
  readonly counters = { served: 0, expired: 0, badSignature: 0, notFound: 0 };
  /** How long a signed URL stays valid, ms (Discord: 24 h). */
  ttlMs: number;
  readonly #secret = randomBytes(32);
  readonly #files = new Map<string, AttachmentBytes>();
  #bytes = 0;
  readonly #base: () => string;
  readonly #now: () => number;

  constructor(base: () => string, options: { ttlMs?: number; now?: () => number } = {}) {
    this.#base = base;
    this.ttlMs = options.ttlMs ?? 24 * 3600 * 1000;
    this.#now = options.now ?? Date.now;
  }

  add(file: AttachmentBytes): void {
    if (file.bytes.length > MAX_ATTACHMENT_SIZE) throw new RangeError(`attachment ${file.filename} is over ${MAX_ATTACHMENT_SIZE} bytes`);
    if (this.#bytes + file.bytes.length > MAX_ATTACHMENT_BYTES) throw new RangeError('the stand-in holds too many attachment bytes');
    this.#files.set(file.id, file);
    this.#bytes += file.bytes.length;
  }

  get(id: string): AttachmentBytes | undefined {
    return this.#files.get(id);
  }

  #sign(path: string, ex: string, is: string): string {
    return createHmac('sha256', this.#secret).update(`${path}\n${ex}\n${is}`).digest('hex');
  }

  /** A signed URL for an attachment, valid for `ttlMs` from now. */
  url(a: { channelId: string; id: string; filename: string }): string {
    const path = `/attachments/${a.channelId}/${a.id}/${encodeURIComponent(a.filename)}`;
    const nowS = Math.floor(this.#now() / 1000);
    const is = nowS.toString(16);
    const ex = (nowS + Math.ceil(this.ttlMs / 1000)).toString(16);
    return `${this.#base()}${path}?ex=${ex}&is=${is}&hm=${this.#sign(path, ex, is)}&`;
  }

  /** A fresh URL for one this CDN signed (expired or not); undefined when it is not one of ours. */
  refresh(url: string): string | undefined {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return undefined;
    }
    const m = PATH.exec(parsed.pathname);
    const file = m ? this.#files.get(m[2]!) : undefined;
    return file && file.channelId === m![1] ? this.url(file) : undefined;
  }

  /** Serves `/attachments/...`; false when the path is not an attachment path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://standin');
    const m = PATH.exec(url.pathname);
    if (!m) return false;
    const deny = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const file = this.#files.get(m[2]!);
    if (!file || file.channelId !== m[1] || (req.method !== 'GET' && req.method !== 'HEAD')) {
      this.counters.notFound++;
      deny(404, 'Not Found');
      return true;
    }
    const ex = url.searchParams.get('ex') ?? '';
    const is = url.searchParams.get('is') ?? '';
    const hm = url.searchParams.get('hm') ?? '';
    const want = Buffer.from(this.#sign(url.pathname, ex, is), 'hex');
    const got = /^[0-9a-f]{64}$/.test(hm) ? Buffer.from(hm, 'hex') : Buffer.alloc(0);
    if (got.length !== want.length || !timingSafeEqual(got, want)) {
      this.counters.badSignature++;
      deny(404, 'This content is no longer available.');
      return true;
    }
    if (!/^[0-9a-f]{1,12}$/.test(ex) || parseInt(ex, 16) * 1000 < this.#now()) {
      this.counters.expired++;
      deny(404, 'This content is no longer available.');
      return true;
    }
    this.counters.served++;
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.bytes.length, 'cache-control': 'public, max-age=31536000' });
    res.end(req.method === 'HEAD' ? undefined : file.bytes);
    return true;
  }
}
