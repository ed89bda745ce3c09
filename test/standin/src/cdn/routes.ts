/**
 * The stand-in's CDN, on the same HTTP server as REST, with cdn.discordapp.com's path shapes:
 * `/avatars/{user}/{hash}.{ext}`, `/guilds/{guild}/users/{user}/avatars/{hash}.{ext}` and
 * `/embed/avatars/{0-5}.png`, honouring `?size=` (a power of two, 16–4096; 128 when absent). Images
 * are generated (see images.ts) and always PNG, whatever extension was asked for. A hash that is not
 * the user's current one is a 404, as on Discord.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { World } from '../world.ts';
import { DEFAULT_AVATAR_COUNT, defaultAvatarPng, identiconPng } from './images.ts';

export interface CdnContext {
  world: World;
  counters: { served: number; notFound: number; badRequest: number };
}

/** Size served when the URL names none. */
export const DEFAULT_IMAGE_SIZE = 128;
const EXT = '(png|webp|jpg|jpeg|gif)';
const USER_AVATAR = new RegExp(`^/avatars/(\\d+)/([0-9a-f_]+)\\.${EXT}$`);
const MEMBER_AVATAR = new RegExp(`^/guilds/(\\d+)/users/(\\d+)/avatars/([0-9a-f_]+)\\.${EXT}$`);
const DEFAULT_AVATAR = /^\/embed\/avatars\/(\d+)\.png$/;

/** Generated images, most recently used last (bounded). */
const cache = new Map<string, Buffer>();
const CACHE_MAX = 64;

function cached(key: string, make: () => Buffer): Buffer {
  let png = cache.get(key);
  if (png) cache.delete(key);
  else png = make();
  cache.set(key, png);
  if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value as string);
  return png;
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'access-control-allow-origin': '*' });
  res.end(body);
}

/** Parses `?size=`; undefined when it is not a power of two from 16 to 4096. */
export function imageSize(raw: string | null): number | undefined {
  if (raw === null) return DEFAULT_IMAGE_SIZE;
  if (!/^[0-9]{2,4}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= 16 && n <= 4096 && (n & (n - 1)) === 0 ? n : undefined;
}

/** Answers a CDN request; false when the path is not a CDN path (REST handles it). */
export function handleCdn(ctx: CdnContext, req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://standin');
  const user = USER_AVATAR.exec(url.pathname);
  const member = user ? undefined : MEMBER_AVATAR.exec(url.pathname);
  const fallback = user || member ? undefined : DEFAULT_AVATAR.exec(url.pathname);
  if (!user && !member && !fallback) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    ctx.counters.badRequest++;
    text(res, 405, '405: Method Not Allowed');
    return true;
  }
  const size = imageSize(url.searchParams.get('size'));
  if (size === undefined) {
    ctx.counters.badRequest++;
    text(res, 400, 'Invalid size: must be a power of 2 between 16 and 4096');
    return true;
  }
  const { world } = ctx;
  let png: Buffer | undefined;
  if (user) {
    const [, userId, hash] = user;
    if (world.users.get(userId!)?.avatar === hash) png = cached(`u:${hash}:${size}`, () => identiconPng(hash!, size));
  } else if (member) {
    const [, guildId, userId, hash] = member;
    if (guildId === world.guildId && world.members.get(userId!)?.avatar === hash) png = cached(`m:${hash}:${size}`, () => identiconPng(hash!, size));
  } else {
    const index = Number(fallback![1]);
    if (index < DEFAULT_AVATAR_COUNT) png = cached(`d:${index}:${size}`, () => defaultAvatarPng(index, size));
  }
  if (!png) {
    ctx.counters.notFound++;
    text(res, 404, '404: Not Found');
    return true;
  }
  ctx.counters.served++;
  res.writeHead(200, {
    'content-type': 'image/png',
    'content-length': png.length,
    'cache-control': 'public, max-age=86400',
    'access-control-allow-origin': '*',
  });
  res.end(req.method === 'HEAD' ? undefined : png);
  return true;
}
