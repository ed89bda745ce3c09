/**
 * Test helpers for the hub: a hub in a temporary data directory and a raw `ws` client that records
 * what it receives. Used by the hub's tests, the fuzz test and the bus benchmark.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { createHub, type Hub } from './hub.ts';
import type { HubOptions } from './options.ts';

export interface TempHub extends Hub {
  dataDir: string;
  /** Closes the hub and removes its data directory. */
  dispose(): Promise<void>;
}

export async function startTempHub(options: Partial<HubOptions> = {}): Promise<TempHub> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'promethean-hub-')));
  const hub = await createHub({ ...options, dataDir });
  return Object.assign(hub, {
    dataDir,
    async dispose() {
      await hub.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  });
}

export interface Received {
  data: Buffer;
  binary: boolean;
  /** Parsed JSON of text messages (undefined for binary). */
  json: unknown;
}

function envelopeOf(m: Received): Record<string, unknown> | undefined {
  if (m.binary) {
    const len = m.data.readUInt32BE(0);
    return JSON.parse(m.data.subarray(4, 4 + len).toString('utf8')) as Record<string, unknown>;
  }
  if (m.json && typeof m.json === 'object' && !('op' in m.json)) return m.json as Record<string, unknown>;
  return undefined;
}

/** A raw WebSocket client that keeps every message it receives, in order. */
export class RecordingClient {
  readonly ws: WebSocket;
  readonly received: Received[] = [];
  closeCode: number | undefined;
  closeReason = '';
  #waiters: (() => void)[] = [];

  constructor(url: string, token?: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(new URL(url), { headers: token !== undefined ? { authorization: `Bearer ${token}`, ...headers } : headers });
    this.ws.on('message', (data: Buffer, binary: boolean) => {
      let json: unknown;
      if (!binary) {
        try {
          json = JSON.parse(data.toString('utf8'));
        } catch {
          json = undefined;
        }
      }
      this.received.push({ data, binary, json });
      this.#wake();
    });
    this.ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      this.#wake();
    });
    this.ws.on('error', () => undefined);
  }

  opened(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.ws.once('error', reject);
    });
  }

  /** Strings and objects (JSON) go as text, bytes as binary; `{ text: bytes }` sends raw bytes as a text frame. */
  send(data: string | Uint8Array | object): void {
    if (typeof data === 'string' || data instanceof Uint8Array) this.ws.send(data);
    else if ('text' in data && (data as { text: unknown }).text instanceof Uint8Array) this.ws.send((data as { text: Uint8Array }).text, { binary: false });
    else this.ws.send(JSON.stringify(data));
  }

  /** Subscribes and waits for the hub's ack. */
  async subscribe(pattern: string): Promise<void> {
    const ref = `r${Math.random().toString(36).slice(2)}`;
    this.send({ op: 'subscribe', pattern, ref });
    await this.waitFor(() => this.received.some((m) => (m.json as { ref?: string } | undefined)?.ref === ref));
  }

  /** Envelopes (text or binary header) received so far, JSON-parsed, acks excluded. */
  envelopes(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const m of this.received) {
      const e = envelopeOf(m);
      if (e) out.push(e);
    }
    return out;
  }

  /** The last message received, as an envelope (undefined when it is an ack or nothing came). */
  lastEnvelope(): Record<string, unknown> | undefined {
    const m = this.received.at(-1);
    return m && envelopeOf(m);
  }

  errors(): { code: string; message: string; ref_id?: string }[] {
    return this.envelopes()
      .filter((e) => e.intent === 'error')
      .map((e) => e.payload as { code: string; message: string; ref_id?: string });
  }

  /** Resolves when `predicate` holds, re-checking on every message and close; rejects after timeoutMs. */
  waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`condition not met within ${timeoutMs} ms`)), timeoutMs);
      const check = (): void => {
        if (predicate()) {
          clearTimeout(timer);
          resolve();
        } else this.#waiters.push(check);
      };
      this.#waiters.push(check);
    });
  }

  close(): void {
    this.ws.terminate();
  }

  #wake(): void {
    const waiters = this.#waiters.splice(0);
    for (const w of waiters) w();
  }
}
