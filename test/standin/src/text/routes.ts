/**
 * The text REST routes: message history paging, one message, create (JSON or multipart with files),
 * edit, delete, bulk delete, active threads and attachment URL refresh. Errors answer Discord's JSON
 * error shape `{ message, code, errors? }`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StandinUser } from '../world.ts';
import { TextApiError } from './store.ts';
import type { AllowedMentions, PostInput, StandinText } from './text.ts';

/** Largest request body read (Discord's upload limit plus form overhead). */
const MAX_BODY = 11 * 1024 * 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (status === 204) {
    res.writeHead(204);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function invalid(field: string, code: string, message: string): TextApiError {
  return new TextApiError(400, 50035, 'Invalid Form Body', { [field]: { _errors: [{ code, message }] } });
}

function snowflakeParam(q: URLSearchParams, name: string): bigint | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (!/^\d{1,20}$/.test(v)) throw invalid(name, 'NUMBER_TYPE_COERCE', `Value "${v}" is not snowflake.`);
  return BigInt(v);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new TextApiError(413, 40005, 'Request entity too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** JSON body, or multipart with `payload_json` and `files[n]` parts (what @discordjs/rest sends with files). */
async function readPost(req: IncomingMessage): Promise<{ json: Record<string, unknown>; files: NonNullable<PostInput['attachments']> }> {
  const body = await readBody(req);
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('multipart/form-data')) {
    // The platform's own multipart parser (fetch's Response.formData), not a hand-written one.
    const form = await new Response(new Uint8Array(body), { headers: { 'content-type': type } }).formData();
    const payload = form.get('payload_json');
    const json = typeof payload === 'string' ? (JSON.parse(payload) as Record<string, unknown>) : {};
    const files: NonNullable<PostInput['attachments']> = [];
    for (const [name, value] of form.entries()) {
      if (name === 'payload_json' || typeof value === 'string') continue;
      files.push({ filename: value.name || name, bytes: new Uint8Array(await value.arrayBuffer()), contentType: value.type || 'application/octet-stream' });
    }
    return { json, files };
  }
  if (body.length === 0) return { json: {}, files: [] };
  const parsed = JSON.parse(body.toString('utf8')) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TextApiError(400, 50109, 'The request body contains invalid JSON.');
  return { json: parsed as Record<string, unknown>, files: [] };
}

const MESSAGES = /^\/channels\/(\d{1,20})\/messages$/;
const MESSAGE = /^\/channels\/(\d{1,20})\/messages\/(\d{1,20})$/;
const BULK = /^\/channels\/(\d{1,20})\/messages\/bulk-delete$/;
const THREADS = /^\/guilds\/(\d{1,20})\/threads\/active$/;
const CHANNEL = /^\/channels\/(\d{1,20})$/;

/** Whether `route` is one of the text routes. */
export function isTextRoute(method: string, route: string, text: StandinText): boolean {
  if (MESSAGES.test(route) || MESSAGE.test(route) || BULK.test(route) || THREADS.test(route)) return true;
  if (method === 'POST' && route === '/attachments/refresh-urls') return true;
  const ch = CHANNEL.exec(route);
  return method === 'GET' && ch !== null && text.store.channels.has(ch[1]!) && ch[1] !== text.generalChannelId;
}

/** Handles a text route for `bot`; answers errors in Discord's shape. */
export async function handleTextRoute(text: StandinText, bot: StandinUser, method: string, route: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    sendJson(res, ...(await route200(text, bot, method, route, query, req)));
  } catch (error) {
    if (error instanceof TextApiError) return sendJson(res, error.status, { message: error.message, code: error.discordCode, ...(error.errors ? { errors: error.errors } : {}) });
    if (error instanceof SyntaxError) return sendJson(res, 400, { message: 'The request body contains invalid JSON.', code: 50109 });
    if (error instanceof RangeError) return sendJson(res, 413, { message: error.message, code: 40005 });
    throw error;
  }
}

async function route200(text: StandinText, bot: StandinUser, method: string, route: string, query: URLSearchParams, req: IncomingMessage): Promise<[number, unknown]> {
  const view = (m: Parameters<StandinText['view']>[0]) => text.view(m, bot.id, { contentIntent: true, gateway: false });
  let m: RegExpExecArray | null;
  if ((m = MESSAGES.exec(route))) {
    const channelId = m[1]!;
    if (method === 'GET') {
      const raw = query.get('limit');
      const limit = raw === null ? 50 : Number(raw);
      if (!Number.isInteger(limit) || limit < 1) throw invalid('limit', 'NUMBER_TYPE_MIN', 'int value should be greater than or equal to 1.');
      if (limit > 100) throw invalid('limit', 'NUMBER_TYPE_MAX', 'int value should be less than or equal to 100.');
      const before = snowflakeParam(query, 'before');
      const after = snowflakeParam(query, 'after');
      const around = snowflakeParam(query, 'around');
      return [200, text.store.page(channelId, { limit, ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}), ...(around !== undefined ? { around } : {}) }).map(view)];
    }
    if (method === 'POST') {
      const { json, files } = await readPost(req);
      const ref = json.message_reference as { message_id?: unknown; channel_id?: unknown; fail_if_not_exists?: unknown } | undefined;
      const nonce = json.nonce;
      if (nonce !== undefined && typeof nonce !== 'string' && typeof nonce !== 'number') throw invalid('nonce', 'BASE_TYPE_STRING', 'Must be a string or integer.');
      if (json.content !== undefined && typeof json.content !== 'string') throw invalid('content', 'BASE_TYPE_STRING', 'Must be a string.');
      const message = text.post(channelId, {
        content: (json.content as string | undefined) ?? '',
        authorId: bot.id,
        attachments: files,
        ...(nonce !== undefined ? { nonce } : {}),
        enforceNonce: json.enforce_nonce === true,
        ...(json.allowed_mentions && typeof json.allowed_mentions === 'object' ? { allowedMentions: json.allowed_mentions as AllowedMentions } : {}),
        ...(ref && typeof ref.message_id === 'string'
          ? { reference: { message_id: ref.message_id, ...(typeof ref.channel_id === 'string' ? { channel_id: ref.channel_id } : {}), ...(ref.fail_if_not_exists === false ? { fail_if_not_exists: false } : {}) } }
          : {}),
      });
      return [200, view(message)];
    }
  }
  if ((m = BULK.exec(route)) && method === 'POST') {
    const { json } = await readPost(req);
    const ids = json.messages;
    if (!Array.isArray(ids) || ids.length < 2 || ids.length > 100 || !ids.every((i) => typeof i === 'string')) throw invalid('messages', 'BASE_TYPE_BAD_LENGTH', 'Must be between 2 and 100 in length.');
    text.bulkDelete(m[1]!, ids as string[]);
    return [204, undefined];
  }
  if ((m = MESSAGE.exec(route))) {
    const [, channelId, messageId] = m as unknown as [string, string, string];
    if (method === 'GET') return [200, view(text.store.message(channelId, messageId))];
    if (method === 'PATCH') {
      const { json } = await readPost(req);
      const found = text.store.message(channelId, messageId);
      if (found.authorId !== bot.id) throw new TextApiError(403, 50005, 'Cannot edit a message authored by another user');
      if (typeof json.content !== 'string' || json.content.length > 2000) throw invalid('content', 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.');
      return [200, view(text.edit(channelId, messageId, json.content))];
    }
    if (method === 'DELETE') {
      text.delete(channelId, messageId);
      return [204, undefined];
    }
  }
  if ((m = THREADS.exec(route)) && method === 'GET') {
    if (m[1] !== text.store.guildId) throw new TextApiError(404, 10004, 'Unknown Guild');
    const threads = text.store.threads().map((t) => text.channelPayload(t));
    return [200, { threads, members: [] }];
  }
  if (route === '/attachments/refresh-urls' && method === 'POST') {
    const { json } = await readPost(req);
    const urls = json.attachment_urls;
    if (!Array.isArray(urls) || urls.length > 50 || !urls.every((u) => typeof u === 'string')) throw invalid('attachment_urls', 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 50 in length.');
    return [200, { refreshed_urls: (urls as string[]).map((original) => ({ original, refreshed: text.cdn.refresh(original) ?? original })) }];
  }
  if ((m = CHANNEL.exec(route)) && method === 'GET') return [200, text.channelPayload(text.store.channel(m[1]!))];
  throw new TextApiError(405, 0, '405: Method Not Allowed');
}
