/**
 * Owners' access panel for the selected guild: invite a named moderator (a one-time link limited to
 * this channel or the whole guild, with the session's lifetime), see who holds a session and revoke
 * one (its audio stops at once), and read the audit log. Talks to `/api/invitations`,
 * `/api/sessions` and `/api/audit` with the session cookie; keeps its own small state. Also where the
 * bot is: join, move to another voice channel, or leave (`/api/voice/*`).
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { requestJson } from '../net/http.ts';

interface SessionRow {
  sid: string;
  role: string;
  name: string | null;
  guild: string | null;
  channel: string | null;
  expires_at: string;
  current: boolean;
}

interface VoiceChannels {
  guild_id: string;
  bot_channel_id: string | null;
  channels: { channel_id: string; name: string; allowed: boolean }[];
}

interface AuditRow {
  seq?: string | number;
  at: string;
  actor: string;
  action: string;
  detail: unknown;
}

const LIFETIMES = [
  ['1 hour', 3600],
  ['8 hours', 8 * 3600],
  ['1 day', 86_400],
  ['7 days', 7 * 86_400],
] as const;

const fetchFn = (input: string, init?: RequestInit) => fetch(input, init);

function when(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

function summary(detail: unknown): string {
  if (!detail || typeof detail !== 'object') return '';
  const d = detail as Record<string, unknown>;
  return ['name', 'role', 'reason', 'pattern', 'listener_id', 'sid'].flatMap((k) => (d[k] !== undefined ? [`${k}: ${String(d[k])}`] : [])).join(' · ');
}

export function OwnerControls({ guildName, guildId, channelId, channelName }: { guildName: string; guildId: string; channelId: string; channelName: string }): VNode {
  const [name, setName] = useState('');
  const [scope, setScope] = useState<'channel' | 'guild'>('channel');
  const [role, setRole] = useState<'moderator' | 'owner'>('moderator');
  const [ttl, setTtl] = useState<number>(8 * 3600);
  const [link, setLink] = useState<{ url: string; expires_at: string; who: string } | null>(null);
  const [sessions, setSessions] = useState<SessionRow[] | null>(null);
  const [audit, setAudit] = useState<AuditRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [voice, setVoice] = useState<VoiceChannels | null>(null);
  const [target, setTarget] = useState<string>('');

  const refresh = useCallback(async () => {
    try {
      const [s, a] = await Promise.all([
        requestJson<{ sessions: SessionRow[] }>(fetchFn, '/api/sessions'),
        requestJson<{ rows: AuditRow[] }>(fetchFn, '/api/audit?limit=1000'),
      ]);
      setSessions(s?.sessions ?? []);
      const v = await requestJson<VoiceChannels>(fetchFn, `/api/voice/channels?guild_id=${encodeURIComponent(guildId)}`).catch(() => undefined);
      if (v) setVoice(v);
      setAudit((a?.rows ?? []).slice(-15).reverse());
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh, guildId]);

  // Where the bot is changes by itself (a join elsewhere, a kick): look again every few seconds.
  useEffect(() => {
    const timer = setInterval(() => {
      void requestJson<VoiceChannels>(fetchFn, `/api/voice/channels?guild_id=${encodeURIComponent(guildId)}`)
        .then((v) => v && setVoice(v))
        .catch(() => undefined);
    }, 5000);
    return () => clearInterval(timer);
  }, [guildId]);

  const invite = async (ev: Event) => {
    ev.preventDefault();
    if (!name.trim()) return;
    setBusy(true);
    try {
      const body = { name: name.trim(), guild_id: guildId, ...(scope === 'channel' ? { channel_id: channelId } : {}), role, ttl_s: ttl };
      const r = await requestJson<{ link: string; expires_at: string }>(fetchFn, '/api/invitations', { method: 'POST', body });
      if (r) setLink({ url: r.link, expires_at: r.expires_at, who: name.trim() });
      setName('');
      await refresh();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const steer = async (what: 'join' | 'leave') => {
    setBusy(true);
    try {
      const channel = target || voice?.channels.find((c) => c.allowed && c.channel_id !== voice.bot_channel_id)?.channel_id;
      if (what === 'join' && !channel) return;
      await requestJson(fetchFn, `/api/voice/${what}`, { method: 'POST', body: what === 'join' ? { guild_id: guildId, channel_id: channel } : { guild_id: guildId } });
      setTimeout(() => void refresh(), 1500);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (sid: string) => {
    try {
      await requestJson(fetchFn, `/api/sessions/${sid}`, { method: 'DELETE' });
      await refresh();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return html`<section class="owner-panel" data-slot="owner-controls" aria-labelledby="owner-title">
    <h3 id="owner-title">Access · ${guildName}</h3>
    ${error ? html`<p class="owner-error" role="alert">${error}</p>` : null}
    ${voice
      ? html`<div class="bot-controls" aria-label="Where the bot is">
          <p>The bot is in <b>${voice.channels.find((c) => c.channel_id === voice.bot_channel_id)?.name ?? 'no voice channel'}</b>.</p>
          <label>Voice channel
            <select value=${target} onChange=${(e: Event) => setTarget((e.target as HTMLSelectElement).value)}>
              <option value="">choose…</option>
              ${voice.channels.map((c) => html`<option value=${c.channel_id} disabled=${!c.allowed}>${c.name}${c.allowed ? '' : ' (not allowed)'}${c.channel_id === voice.bot_channel_id ? ' · here' : ''}</option>`)}
            </select>
          </label>
          <button type="button" class="button" disabled=${busy || !target || target === voice.bot_channel_id} onClick=${() => void steer('join')}>${voice.bot_channel_id ? 'Move the bot here' : 'Join'}</button>
          <button type="button" class="button button-stop" disabled=${busy || !voice.bot_channel_id} onClick=${() => void steer('leave')}>Leave</button>
        </div>`
      : null}
    <form class="invite-form" onSubmit=${invite} aria-label="Invite a moderator">
      <label>Name <input type="text" required maxlength="200" placeholder="who the link is for" value=${name} onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} /></label>
      <label>May hear
        <select value=${scope} onChange=${(e: Event) => setScope((e.target as HTMLSelectElement).value as 'channel' | 'guild')}>
          <option value="channel">${channelName} only</option>
          <option value="guild">all of ${guildName}</option>
        </select>
      </label>
      <label>Role
        <select value=${role} onChange=${(e: Event) => setRole((e.target as HTMLSelectElement).value as 'moderator' | 'owner')}>
          <option value="moderator">moderator</option>
          <option value="owner">owner</option>
        </select>
      </label>
      <label>For
        <select value=${String(ttl)} onChange=${(e: Event) => setTtl(Number((e.target as HTMLSelectElement).value))}>
          ${LIFETIMES.map(([label, s]) => html`<option value=${String(s)}>${label}</option>`)}
        </select>
      </label>
      <button type="submit" class="button" disabled=${busy || !name.trim()}>Create invitation link</button>
    </form>
    ${link
      ? html`<div class="invite-link">
          <p>One-time link for <b>${link.who}</b> (open before ${when(link.expires_at)}):</p>
          <input type="text" readonly value=${link.url} aria-label="Invitation link" onFocus=${(e: Event) => (e.target as HTMLInputElement).select()} />
          <button type="button" class="button" onClick=${() => void navigator.clipboard?.writeText(link.url)}>Copy</button>
        </div>`
      : null}
    <h4>Sessions</h4>
    ${sessions === null
      ? html`<p class="muted">Loading…</p>`
      : html`<ul class="session-rows">
          ${sessions.map(
            (s) => html`<li key=${s.sid} data-sid=${s.sid}>
              <span class="who">${s.name ?? (s.current ? 'you' : `session ${s.sid.slice(0, 6)}`)}</span>
              <span class="role">${s.role}</span>
              <span class="scope">${s.channel ? 'one channel' : s.guild ? 'one server' : 'all servers'}</span>
              <span class="until">until ${when(s.expires_at)}</span>
              ${s.current ? html`<span class="muted">this session</span>` : html`<button type="button" class="button button-stop" onClick=${() => void revoke(s.sid)} aria-label=${`Revoke ${s.name ?? s.sid}`}>Revoke</button>`}
            </li>`,
          )}
        </ul>`}
    <h4>Audit log <button type="button" class="button" onClick=${() => void refresh()}>Refresh</button></h4>
    ${audit === null
      ? null
      : html`<table class="audit">
          <thead><tr><th>when</th><th>who</th><th>what</th><th>details</th></tr></thead>
          <tbody>
            ${audit.map((r, i) => html`<tr key=${String(r.seq ?? i)}><td>${when(r.at)}</td><td>${r.actor}</td><td>${r.action}</td><td>${summary(r.detail)}</td></tr>`)}
          </tbody>
        </table>`}
  </section>`;
}
