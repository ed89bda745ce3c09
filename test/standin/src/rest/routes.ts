/**
 * The REST API discord.js touches while logging in and joining voice (`/api/v10/...`). Any bot token
 * is accepted; each token is its own bot user. Unknown routes answer Discord's 404 shape.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { World } from '../world.ts';
import { handleTextRoute, isTextRoute } from '../text/routes.ts';
import type { StandinText } from '../text/text.ts';

export interface RestContext {
  world: World;
  /** ws:// URL of the main gateway (no query string: discord.js appends `?v=10&encoding=json`). */
  gatewayUrl(): string;
  counters: { requests: number; notFound: number; unauthorized: number };
  /** The text world: its routes, and the rate limits every authenticated route is held to. */
  text?: StandinText;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  // Rate-limit headers come from the limiter when it ran (text world present).
  const limits = res.hasHeader('x-ratelimit-bucket') || res.hasHeader('x-ratelimit-global') ? {} : { 'x-ratelimit-limit': '50', 'x-ratelimit-remaining': '49', 'x-ratelimit-reset-after': '1', 'x-ratelimit-bucket': 'standin' };
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...limits });
  res.end(text);
}

export function handleRest(ctx: RestContext, req: IncomingMessage, res: ServerResponse): void {
  ctx.counters.requests++;
  const url = new URL(req.url ?? '/', 'http://standin');
  const match = /^\/api\/v(\d+)(\/.*)$/.exec(url.pathname);
  if (!match) {
    ctx.counters.notFound++;
    return json(res, 404, { message: '404: Not Found', code: 0 });
  }
  const route = match[2] as string;
  const { world } = ctx;
  const auth = req.headers.authorization ?? '';
  if (route === '/gateway') return json(res, 200, { url: ctx.gatewayUrl() });
  if (!/^(Bot|Bearer) \S+/.test(auth)) {
    ctx.counters.unauthorized++;
    return json(res, 401, { message: '401: Unauthorized', code: 0 });
  }
  const bot = world.botForToken(auth);
  const method = req.method ?? 'GET';
  if (ctx.text) {
    const decision = ctx.text.limits.take(bot.id, method, route);
    for (const [k, v] of Object.entries(decision.headers)) res.setHeader(k, v);
    if (!decision.ok) return json(res, 429, decision.body);
    if (isTextRoute(method, route, ctx.text)) {
      handleTextRoute(ctx.text, bot, method, route, url.searchParams, req, res).catch(() => {
        if (!res.headersSent) json(res, 500, { message: '500: Internal Server Error', code: 0 });
        else res.destroy();
      });
      return;
    }
  }
  if (req.method === 'GET') {
    if (route === '/gateway/bot') {
      return json(res, 200, {
        url: ctx.gatewayUrl(),
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
      });
    }
    if (route === '/users/@me') return json(res, 200, world.userPayload(bot));
    if (route === '/applications/@me' || route === '/oauth2/applications/@me') {
      return json(res, 200, { id: world.applicationId, name: bot.username, flags: 0, bot_public: false, bot_require_code_grant: false, description: '', icon: null, bot: world.userPayload(bot) });
    }
    if (route === '/users/@me/guilds') return json(res, 200, [{ id: world.guildId, name: world.guildName, icon: null, owner: false, permissions: '1071698660929', features: [] }]);
    if (route === `/guilds/${world.guildId}`) {
      const { members: _m, channels: _c, voice_states: _v, presences: _p, threads: _t, ...guild } = world.guildPayload();
      return json(res, 200, guild);
    }
    if (route === `/guilds/${world.guildId}/channels`) return json(res, 200, world.channelsPayload());
    for (const ch of world.channelsPayload()) if (route === `/channels/${String(ch.id)}`) return json(res, 200, ch);
    const member = /^\/guilds\/(\d+)\/members\/(\d+)$/.exec(route);
    if (member && member[1] === world.guildId) {
      const user = world.users.get(member[2] as string);
      if (user) return json(res, 200, world.memberPayload(user));
    }
    if (route === `/guilds/${world.guildId}/members`) return json(res, 200, [...world.users.values()].map((u) => world.memberPayload(u)));
    const user = /^\/users\/(\d+)$/.exec(route);
    if (user) {
      const found = world.users.get(user[1] as string);
      if (found) return json(res, 200, world.userPayload(found));
      return json(res, 404, { message: 'Unknown User', code: 10013 });
    }
  }
  ctx.counters.notFound++;
  json(res, 404, { message: '404: Not Found', code: 0 });
}
