/**
 * The bot panel of a voice session: the kill switch (owners and moderators: the bot stops talking at
 * once and forgets what it was about to say), a "say this" box (owners only: one line of at most 300
 * characters the bot speaks), and for owners the guild's brain switches (the voice brain answering
 * spoken questions, the text brain answering mentions) with their current state. Talks to
 * `/api/bot/*` with the session cookie; the server records every action before the bot is asked.
 * Keeps the owner panel's look (`.owner-panel`, `.bot-controls`, `.invite-form`).
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { requestJson } from '../net/http.ts';

/** Longest line the bot is asked to say (the server's limit too). */
export const MAX_SAY_CHARS = 300;

type BrainName = 'voice' | 'social';

interface BrainState {
  enabled: boolean;
  updated_by: string;
  updated_at: string;
}

interface BrainsAnswer {
  guild_id: string;
  brains: Record<BrainName, BrainState | null>;
}

const BRAINS: readonly { brain: BrainName; label: string; hint: string }[] = [
  { brain: 'voice', label: 'Voice brain', hint: 'answers spoken questions that name the bot' },
  { brain: 'social', label: 'Text brain', hint: 'answers mentions of the bot in text channels' },
];

const fetchFn = (input: string, init?: RequestInit) => fetch(input, init);

function stateLine(s: BrainState | null | undefined): string {
  if (s === undefined) return 'loading…';
  if (s === null) return 'off unless cephalon.yml turns it on';
  const when = new Date(s.updated_at);
  return `${s.enabled ? 'on' : 'off'} since ${Number.isNaN(when.getTime()) ? s.updated_at : when.toLocaleString()}`;
}

export function BotPanel({ sessionId, guildId, owner }: { sessionId: string; guildId: string; owner: boolean }): VNode {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [line, setLine] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [brains, setBrains] = useState<BrainsAnswer['brains'] | null>(null);

  const loadBrains = useCallback(async () => {
    if (!owner) return;
    try {
      const r = await requestJson<BrainsAnswer>(fetchFn, `/api/bot/brains?guild_id=${encodeURIComponent(guildId)}`);
      if (r) setBrains(r.brains);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [owner, guildId]);

  useEffect(() => {
    setBrains(null);
    void loadBrains();
  }, [loadBrains]);

  const run = async (what: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    try {
      setLine(await what());
    } catch (e) {
      setLine(null);
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const silence = () =>
    run(async () => {
      await requestJson(fetchFn, '/api/bot/stop', { method: 'POST', body: { session_id: sessionId } });
      return 'The bot was told to stop: what it was saying and everything queued is dropped.';
    });

  const say = (ev: Event) => {
    ev.preventDefault();
    const t = text.trim();
    if (!t) return;
    void run(async () => {
      await requestJson(fetchFn, '/api/bot/say', { method: 'POST', body: { session_id: sessionId, text: t } });
      setText('');
      return `The bot will say: “${t}”`;
    });
  };

  const toggle = (brain: BrainName, enabled: boolean) =>
    run(async () => {
      await requestJson(fetchFn, '/api/bot/brains', { method: 'PUT', body: { guild_id: guildId, brain, enabled } });
      await loadBrains();
      return `${brain === 'voice' ? 'Voice' : 'Text'} brain turned ${enabled ? 'on' : 'off'} for this server.`;
    });

  return html`<section class="owner-panel bot-panel" data-slot="bot-panel" aria-labelledby="bot-title">
    <h3 id="bot-title">Bot</h3>
    ${error ? html`<p class="owner-error" role="alert">${error}</p>` : null}
    <div class="bot-controls">
      <button type="button" class="button button-stop" data-action="silence" disabled=${busy} onClick=${() => void silence()}>Silence the bot</button>
      <p class="muted">Stops what the bot is saying in this channel now and drops what it was about to say.</p>
    </div>
    ${owner
      ? html`<form class="invite-form" onSubmit=${say} aria-label="Say this">
          <label>Say this
            <input type="text" name="say" maxlength=${MAX_SAY_CHARS} placeholder="a line for the bot to speak" value=${text} onInput=${(e: Event) => setText((e.target as HTMLInputElement).value)} />
          </label>
          <span class="muted">${text.trim().length}/${MAX_SAY_CHARS}</span>
          <button type="submit" class="button" disabled=${busy || !text.trim()}>Say it</button>
        </form>`
      : null}
    ${owner
      ? html`<h4>Brains in this server</h4>
          <ul class="session-rows">
            ${BRAINS.map(({ brain, label, hint }) => {
              const s = brains === null ? undefined : brains[brain];
              const on = s?.enabled === true;
              return html`<li key=${brain} data-brain=${brain} data-enabled=${s === undefined ? 'unknown' : String(on)}>
                <span class="who">${label}</span>
                <span class="muted">${hint} · ${stateLine(s)}</span>
                <button type="button" class=${on ? 'button button-stop' : 'button'} disabled=${busy || s === undefined} onClick=${() => void toggle(brain, !on)}>${on ? 'Turn off' : 'Turn on'}</button>
              </li>`;
            })}
          </ul>`
      : null}
    ${line ? html`<p class="muted" aria-live="polite" data-slot="bot-line">${line}</p>` : null}
  </section>`;
}
