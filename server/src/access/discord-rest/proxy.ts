/**
 * The discord-rest agent's HTTP face, compatible with @discordjs/proxy: `/api/v10/...` is handed to
 * @discordjs/proxy's `proxyRequests` on the agent's one `REST` instance, so every discord.js process
 * that points its REST `api` here shares the tenant's buckets and global limit. Clients authenticate
 * with `Authorization: Bot <proxy client key>`; the proxy checks it (constant time) and swaps in the
 * tenant's bot token, which never leaves this process. `GET /media?url=<CDN URL>` fetches an
 * attachment from the provider's CDN (allowed origins only, size-capped, no token sent) for tokenless
 * workers such as the attachment indexer.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { proxyRequests } from '@discordjs/proxy';
import type { REST } from '@discordjs/rest';

export interface RestProxyOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** The proxy client key clients present as `Bot <key>`. */
  clientKey: string;
  /** The tenant's bot token, put on forwarded requests. */
  botToken: string;
  /** Origins `/media` may fetch from (the CDN's). */
  mediaOrigins: string[];
  /** Largest media body passed through, bytes. */
  maxMediaBytes: number;
  /** Give up on a media fetch after this long, ms. */
  mediaTimeoutMs: number;
}

export const defaultRestProxyOptions = {
  host: '127.0.0.1',
  port: 0,
  mediaOrigins: ['https://cdn.discordapp.com', 'https://media.discordapp.net'],
  maxMediaBytes: 25 * 1024 * 1024,
  mediaTimeoutMs: 30_000,
} satisfies Partial<RestProxyOptions>;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export class RestProxy {
  readonly options: RestProxyOptions;
  readonly counters = { requests: 0, unauthorized: 0, media: 0, mediaRefused: 0, mediaTooLarge: 0, notFound: 0, errors: 0 };
  readonly #server: Server;
  readonly #key: Buffer;
  #closed = false;

  private constructor(server: Server, options: RestProxyOptions) {
    this.#server = server;
    this.options = options;
    this.#key = Buffer.from(`Bot ${options.clientKey}`);
  }

  static async start(rest: REST, input: Partial<RestProxyOptions> & Pick<RestProxyOptions, 'clientKey' | 'botToken'>): Promise<RestProxy> {
    const options: RestProxyOptions = { ...defaultRestProxyOptions, ...input };
    const forward = proxyRequests(rest);
    const server = createServer();
    const proxy = new RestProxy(server, options);
    server.on('request', (req, res) => {
      proxy.#handle(req, res, forward).catch(() => {
        proxy.counters.errors++;
        if (!res.headersSent) sendJson(res, 500, { message: '500: Internal Server Error', code: 0 });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  /** REST base for `new REST({ api })` / `new Client({ rest: { api } })`. */
  get url(): string {
    return `http://${this.options.host}:${this.port}/api`;
  }

  #authorized(req: IncomingMessage): boolean {
    const got = Buffer.from(req.headers.authorization ?? '');
    return got.length === this.#key.length && timingSafeEqual(got, this.#key);
  }

  async #handle(req: IncomingMessage, res: ServerResponse, forward: ReturnType<typeof proxyRequests>): Promise<void> {
    this.counters.requests++;
    const url = new URL(req.url ?? '/', 'http://proxy');
    if (url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
    const api = url.pathname.startsWith('/api/');
    const media = url.pathname === '/media';
    if (!api && !media) {
      this.counters.notFound++;
      return sendJson(res, 404, { message: '404: Not Found', code: 0 });
    }
    if (!this.#authorized(req)) {
      this.counters.unauthorized++;
      return sendJson(res, 401, { message: '401: Unauthorized', code: 0, error: 'unauthenticated' });
    }
    if (media) return this.#media(url, req, res);
    // Swap the client's proxy key for the tenant's token; proxyRequests forwards this header as is.
    req.headers.authorization = `Bot ${this.options.botToken}`;
    await forward(req, res);
  }

  async #media(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let target: URL;
    try {
      target = new URL(url.searchParams.get('url') ?? '');
    } catch {
      this.counters.mediaRefused++;
      return sendJson(res, 400, { message: 'url must be an absolute CDN URL', code: 0, error: 'schema' });
    }
    if (req.method !== 'GET' || !this.options.mediaOrigins.includes(target.origin)) {
      this.counters.mediaRefused++;
      return sendJson(res, 403, { message: `media is fetched only from ${this.options.mediaOrigins.join(', ')}`, code: 0, error: 'forbidden' });
    }
    this.counters.media++;
    const upstream = await fetch(target, { redirect: 'error', signal: AbortSignal.timeout(this.options.mediaTimeoutMs) });
    const declared = Number(upstream.headers.get('content-length') ?? '0');
    if (declared > this.options.maxMediaBytes) {
      this.counters.mediaTooLarge++;
      await upstream.body?.cancel();
      return sendJson(res, 413, { message: `media larger than ${this.options.maxMediaBytes} bytes`, code: 0, error: 'oversize' });
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (upstream.body) {
      for await (const chunk of upstream.body) {
        size += chunk.length;
        if (size > this.options.maxMediaBytes) {
          this.counters.mediaTooLarge++;
          return sendJson(res, 413, { message: `media larger than ${this.options.maxMediaBytes} bytes`, code: 0, error: 'oversize' });
        }
        chunks.push(chunk);
      }
    }
    const body = Buffer.concat(chunks);
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
