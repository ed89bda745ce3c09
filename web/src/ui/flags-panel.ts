/**
 * Moderation flags in the console: a watch rule matched a final transcript (`moderation.flag`,
 * `docs/moderation.md`). The model keeps the latest version of each flag the session may see — the
 * newest page from `GET /api/flags` at every bus (re)connect, then live envelopes — and the panel
 * lists them with the speaker, the time, the rule, the transcript with the matched span marked, the
 * clip (played from `GET /api/flags/:id/clip`) with its spectrogram, and Acknowledge / Dismiss.
 * A decision is published again by the server, so every open console shows it.
 *
 * For tests each flag carries `data-flag-id`, `data-status`, `data-rule-id` and `data-speaker`; the
 * header pill and the session tab carry `data-open-flags`.
 */
import { signal, type Signal } from '@preact/signals';
import { ModerationFlag } from '@promethean/shared';
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { colormap } from '../dsp/colormap.ts';
import { ApiError, errorMessage } from '../errors.ts';
import type { BusEnvelope } from '../net/bus.ts';
import { errorFromBody, requestJson, type FetchLike } from '../net/http.ts';
import { channelName, userName } from '../state/select.ts';
import type { RosterState, SessionRecord } from '../state/types.ts';
import { formatClock, formatDateTime } from './transcript-format.ts';

export const FLAG_INTENT = 'moderation.flag';
export type Flag = ModerationFlag;
export type FlagStatus = Flag['status'];

export interface FlagsState {
  /** Latest version of each flag, by `flag_id`. */
  byId: Readonly<Record<string, Flag>>;
}

export const emptyFlags: FlagsState = { byId: {} };

export interface FlagLimits {
  /** Flags kept; beyond it the oldest (lowest id) go. */
  maxFlags: number;
}

export const defaultFlagLimits: FlagLimits = { maxFlags: 500 };

/** What one flag did: counted by the model, asserted by tests. */
export type FlagOutcome = 'added' | 'updated' | 'unchanged' | 'stale' | 'too_old' | 'bad_payload';

const byIdDesc = (a: string, b: string): number => (a.length !== b.length ? b.length - a.length : a < b ? 1 : a > b ? -1 : 0);

/**
 * Applies one flag (from the bus or a list) to the state; returns the same state object when nothing
 * changed. A decided flag never goes back to open: an `open` version arriving after a decision (a list
 * that raced the decision) is stale. The payload is checked against the shared schema, and its span
 * must lie within its text.
 */
export function applyFlag(state: FlagsState, payload: unknown, limits: FlagLimits = defaultFlagLimits): { state: FlagsState; outcome: FlagOutcome; evicted: number } {
  const r = ModerationFlag.safeParse(payload);
  if (!r.success) return { state, outcome: 'bad_payload', evicted: 0 };
  const flag = r.data;
  if (flag.span.start > flag.span.end || flag.span.end > flag.text.length) return { state, outcome: 'bad_payload', evicted: 0 };
  const prev = state.byId[flag.flag_id];
  if (prev) {
    if (prev.status !== 'open' && flag.status === 'open') return { state, outcome: 'stale', evicted: 0 };
    if (prev.status === flag.status && prev.decided_at === flag.decided_at && prev.clip.stored === flag.clip.stored) return { state, outcome: 'unchanged', evicted: 0 };
    return { state: { byId: { ...state.byId, [flag.flag_id]: flag } }, outcome: 'updated', evicted: 0 };
  }
  const ids = Object.keys(state.byId);
  if (ids.length >= limits.maxFlags) {
    ids.sort(byIdDesc);
    // Full, and older than everything kept: it would be evicted at once.
    if (byIdDesc(flag.flag_id, ids.at(-1)!) > 0) return { state, outcome: 'too_old', evicted: 0 };
    const keep = ids.slice(0, limits.maxFlags - 1);
    const byId: Record<string, Flag> = Object.fromEntries(keep.map((id) => [id, state.byId[id]!]));
    byId[flag.flag_id] = flag;
    return { state: { byId }, outcome: 'added', evicted: ids.length - keep.length };
  }
  return { state: { byId: { ...state.byId, [flag.flag_id]: flag } }, outcome: 'added', evicted: 0 };
}

/** Flags of a guild (every flag when `guildId` is null), newest first. */
export function flagsOf(state: FlagsState, guildId: string | null): Flag[] {
  const all = Object.values(state.byId).filter((f) => guildId === null || f.guild_id === guildId);
  return all.sort((a, b) => byIdDesc(a.flag_id, b.flag_id));
}

export function openCount(state: FlagsState, guildId: string | null): number {
  let n = 0;
  for (const f of Object.values(state.byId)) if (f.status === 'open' && (guildId === null || f.guild_id === guildId)) n++;
  return n;
}

/** The transcript around the span: text before (cut to `context` characters), the match, text after. */
export function spanParts(text: string, start: number, end: number, context = 160): { before: string; match: string; after: string } {
  const s = Math.max(0, Math.min(start, text.length));
  const e = Math.max(s, Math.min(end, text.length));
  const before = text.slice(0, s);
  const after = text.slice(e);
  return {
    before: before.length > context ? `…${before.slice(before.length - context)}` : before,
    match: text.slice(s, e),
    after: after.length > context ? `${after.slice(0, context)}…` : after,
  };
}

/** `GET /api/flags/:id/spectrogram`: log-mel dB, frame-major. */
export interface FlagSpectrogram {
  sample_rate: number;
  n_mels: number;
  n_frames: number;
  hop_ms: number;
  db: number[];
}

function isSpectrogram(v: unknown): v is FlagSpectrogram {
  const s = v as Partial<FlagSpectrogram> | null;
  return (
    typeof s === 'object' && s !== null && Number.isInteger(s.n_mels) && Number.isInteger(s.n_frames) && Array.isArray(s.db) &&
    s.n_mels! > 0 && s.n_mels! <= 512 && s.n_frames! > 0 && s.n_frames! <= 10_000 && s.db.length === s.n_mels! * s.n_frames!
  );
}

export interface FlagsCounters {
  outcomes: Record<FlagOutcome, number>;
  evicted: number;
}

export interface FlagsModel {
  state: Signal<FlagsState>;
  /** Why the last list failed; null after one that worked. */
  error: Signal<string | null>;
  /** A list has answered since the page opened. */
  loaded: Signal<boolean>;
  counters: Readonly<FlagsCounters>;
  /** Feeds one bus envelope (other intents are ignored). */
  receive(env: BusEnvelope): FlagOutcome | null;
  /** Merges the newest flags the session may see (`GET /api/flags`). */
  load(): Promise<void>;
  /** Acknowledges or dismisses an open flag; resolves with the flag as the server left it. */
  decide(flagId: string, verb: 'ack' | 'dismiss'): Promise<Flag>;
  /** The stored clip as a WAV blob (on record on the server, like a listen). */
  clip(flagId: string): Promise<Blob>;
  spectrogram(flagId: string): Promise<FlagSpectrogram>;
}

/** Where the console model carries its flags (absent where the console runs without them). */
export interface FlagsHost {
  flags?: FlagsModel;
}

const FLAG_ID = /^[1-9][0-9]{0,18}$/;

export function createFlags(fetchFn: FetchLike, limits: Partial<FlagLimits> = {}): FlagsModel {
  const l: FlagLimits = { ...defaultFlagLimits, ...limits };
  const state = signal<FlagsState>(emptyFlags);
  const counters: FlagsCounters = { outcomes: { added: 0, updated: 0, unchanged: 0, stale: 0, too_old: 0, bad_payload: 0 }, evicted: 0 };
  const apply = (payload: unknown): FlagOutcome => {
    const r = applyFlag(state.peek(), payload, l);
    counters.outcomes[r.outcome]++;
    counters.evicted += r.evicted;
    if (r.state !== state.peek()) state.value = r.state;
    return r.outcome;
  };
  const path = (flagId: string, tail: string): string => {
    if (!FLAG_ID.test(flagId)) throw new RangeError(`not a flag id: ${flagId}`);
    return `/api/flags/${flagId}${tail}`;
  };
  const model: FlagsModel = {
    state,
    error: signal<string | null>(null),
    loaded: signal(false),
    counters,
    receive: (env) => (env.intent === FLAG_INTENT ? apply(env.payload) : null),
    async load() {
      try {
        const r = await requestJson<{ flags?: unknown }>(fetchFn, '/api/flags?limit=200');
        const list = Array.isArray(r?.flags) ? r.flags : [];
        for (const f of list) apply(f);
        model.error.value = null;
        model.loaded.value = true;
      } catch (error) {
        model.error.value = `Could not load flags: ${errorMessage(error)}`;
      }
    },
    async decide(flagId, verb) {
      const r = await requestJson<{ changed: boolean; flag: unknown }>(fetchFn, path(flagId, `/${verb}`), { method: 'POST' });
      if (apply(r?.flag) === 'bad_payload') throw new ApiError(200, 'bad_response', 'the server answered the decision with something that is not a flag');
      return state.peek().byId[flagId]!;
    },
    async clip(flagId) {
      const url = path(flagId, '/clip');
      let res: Response;
      try {
        res = await fetchFn(url, { credentials: 'same-origin', cache: 'no-store' });
      } catch (cause) {
        throw new ApiError(0, 'network', `no answer from the server (${url})`, { cause });
      }
      if (!res.ok) throw errorFromBody(res.status, await res.json().catch(() => undefined), res.statusText);
      const type = res.headers.get('content-type') ?? '';
      if (!type.startsWith('audio/')) throw new ApiError(res.status, 'bad_response', `${url} answered ${type || 'no content type'}, not audio`);
      return res.blob();
    },
    async spectrogram(flagId) {
      const s = await requestJson<unknown>(fetchFn, path(flagId, '/spectrogram'));
      if (!isSpectrogram(s)) throw new ApiError(200, 'bad_response', 'the spectrogram answer is malformed');
      return s;
    },
  };
  return model;
}

const STATUS_LABEL: Record<FlagStatus, string> = { open: 'Open', acknowledged: 'Acknowledged', dismissed: 'Dismissed' };

function when(iso: string): string {
  const d = new Date(iso);
  return d.toDateString() === new Date().toDateString() ? formatClock(d.getTime()) : formatDateTime(iso);
}

/** The clip's log-mel spectrogram, drawn once into a canvas (one pixel per frame and band, low bands at the bottom). */
function SpectrogramImage({ s }: { s: FlagSpectrogram }): VNode {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const lut = colormap('magma');
    let top = -Infinity;
    for (const v of s.db) if (v > top) top = v;
    const img = ctx.createImageData(s.n_frames, s.n_mels);
    for (let f = 0; f < s.n_frames; f++) {
      for (let m = 0; m < s.n_mels; m++) {
        // The server floors at 80 dB below the peak: map that range onto the colour ramp.
        const t = Math.max(0, Math.min(1, (s.db[f * s.n_mels + m]! - (top - 80)) / 80));
        const k = Math.round(t * 255) * 4;
        const at = ((s.n_mels - 1 - m) * s.n_frames + f) * 4;
        img.data[at] = lut[k]!;
        img.data[at + 1] = lut[k + 1]!;
        img.data[at + 2] = lut[k + 2]!;
        img.data[at + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
  }, [s]);
  const seconds = ((s.n_frames * s.hop_ms) / 1000).toFixed(1);
  return html`<canvas ref=${ref} class="flag-spectro" width=${s.n_frames} height=${s.n_mels} data-slot="flag-spectrogram" data-frames=${s.n_frames}
    role="img" aria-label=${`Spectrogram of the clip: ${seconds} s, ${s.n_mels} mel bands up to ${Math.min(8000, s.sample_rate / 2)} Hz`}></canvas>`;
}

type Media = { kind: 'idle' } | { kind: 'loading' } | { kind: 'ready'; url: string; spectro: FlagSpectrogram | null; note: string | null } | { kind: 'error'; message: string };

function FlagItem({ flag, flags, roster }: { flag: Flag; flags: FlagsModel; roster: RosterState }): VNode {
  const [media, setMedia] = useState<Media>({ kind: 'idle' });
  const [busy, setBusy] = useState<'ack' | 'dismiss' | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const url = media.kind === 'ready' ? media.url : null;
  useEffect(() => () => void (url && URL.revokeObjectURL(url)), [url]);

  const play = (): void => {
    setMedia({ kind: 'loading' });
    Promise.all([flags.clip(flag.flag_id), flags.spectrogram(flag.flag_id).then((s) => ({ s, e: null }), (e: unknown) => ({ s: null, e }))]).then(
      ([blob, sp]) => setMedia({ kind: 'ready', url: URL.createObjectURL(blob), spectro: sp.s, note: sp.e ? `No spectrogram: ${errorMessage(sp.e)}` : null }),
      (e: unknown) => setMedia({ kind: 'error', message: errorMessage(e) }),
    );
  };
  const decide = (verb: 'ack' | 'dismiss'): void => {
    setBusy(verb);
    setProblem(null);
    flags.decide(flag.flag_id, verb).then(
      () => setBusy(null),
      (e: unknown) => {
        setBusy(null);
        setProblem(`${verb === 'ack' ? 'Acknowledge' : 'Dismiss'} failed: ${errorMessage(e)}`);
      },
    );
  };
  const parts = spanParts(flag.text, flag.span.start, flag.span.end);
  const clipSeconds = Number(BigInt(flag.clip.end_ns) - BigInt(flag.clip.start_ns)) / 1e9;
  const open = flag.status === 'open';
  return html`<li class=${`hit flag is-${flag.status}`} data-flag-id=${flag.flag_id} data-status=${flag.status} data-rule-id=${flag.rule_id} data-speaker=${flag.speaker}>
    <p class="hit-meta flag-meta">
      <span class="tr-name">${userName(roster, flag.speaker)}</span>
      ${flag.channel_id ? html`<span class="hit-where">in ${channelName(roster, flag.channel_id)}</span>` : null}
      <time datetime=${flag.created_at}>${when(flag.created_at)}</time>
      <span class="flag-rule">${flag.rule_label ?? flag.rule_id} <span class="badge">${flag.rule_kind}</span>${flag.score !== undefined ? html` <span class="muted">similarity ${flag.score.toFixed(2)}</span>` : null}</span>
      <span class=${`flag-status flag-status-${flag.status}`}>${STATUS_LABEL[flag.status]}</span>
    </p>
    <p class="hit-text flag-text">${parts.before}<mark>${parts.match}</mark>${parts.after}</p>
    <div class="flag-media">
      ${flag.clip.stored
        ? html`<button type="button" class="button flag-play" disabled=${media.kind === 'loading'} onClick=${play}>
            ${media.kind === 'loading' ? 'Loading clip…' : media.kind === 'ready' ? 'Reload clip' : `Play clip (${clipSeconds.toFixed(1)} s)`}
          </button>`
        : html`<p class="hint">The server did not keep this clip's audio (no PCM of that span reached it).</p>`}
      ${media.kind === 'ready' ? html`<audio class="flag-audio" data-slot="flag-audio" controls autoplay src=${media.url}></audio>` : null}
      ${media.kind === 'ready' && media.spectro ? html`<${SpectrogramImage} s=${media.spectro} />` : null}
      ${media.kind === 'ready' && media.note ? html`<p class="hint">${media.note}</p>` : null}
      ${media.kind === 'error' ? html`<p class="search-error" role="alert">Clip: ${media.message}</p>` : null}
    </div>
    <div class="flag-actions">
      ${open
        ? html`<button type="button" class="button button-primary" disabled=${busy !== null} onClick=${() => decide('ack')}>${busy === 'ack' ? 'Acknowledging…' : 'Acknowledge'}</button>
            <button type="button" class="button" disabled=${busy !== null} onClick=${() => decide('dismiss')}>${busy === 'dismiss' ? 'Dismissing…' : 'Dismiss'}</button>`
        : html`<p class="muted flag-decided" title=${flag.decided_by ?? ''}>${STATUS_LABEL[flag.status]}${flag.decided_at ? html` <time datetime=${flag.decided_at}>${when(flag.decided_at)}</time>` : null}</p>`}
      ${problem ? html`<p class="search-error" role="alert">${problem}</p>` : null}
    </div>
  </li>`;
}

export interface FlagsPanelProps {
  flags: FlagsModel;
  roster: RosterState;
  /** The selected voice session: its guild's flags are listed. */
  session: SessionRecord;
}

export function FlagsPanel({ flags, roster, session }: FlagsPanelProps): VNode {
  const list = flagsOf(flags.state.value, session.guild_id);
  const open = list.filter((f) => f.status === 'open').length;
  const error = flags.error.value;
  return html`<section class="flags-panel" data-slot="flags" aria-labelledby="flags-title">
    <h3 id="flags-title" class="tiles-title">Flags <span class="count" data-open-flags=${open}>${open} open</span></h3>
    ${error ? html`<p class="search-error" role="alert">${error}</p>` : null}
    ${list.length === 0
      ? html`<p class="empty">${flags.loaded.value ? 'No watch rule of this server has matched a transcript yet.' : 'Loading flags…'}</p>`
      : html`<ol class="search-results flags" aria-live="polite">${list.map((f) => html`<${FlagItem} key=${f.flag_id} flag=${f} flags=${flags} roster=${roster} />`)}</ol>`}
  </section>`;
}

/** The header's count of open flags in every guild the session sees. */
export function FlagsPill({ flags }: { flags: FlagsModel }): VNode {
  const n = openCount(flags.state.value, null);
  return html`<span class=${`pill ${n > 0 ? 'pill-warn' : 'pill-ok'}`} data-open-flags=${n} title="Open moderation flags">
    <span class="dot" aria-hidden="true"></span>Flags: ${n} open
  </span>`;
}

/** The session tab's badge: open flags of the session's guild (nothing when none). */
export function FlagsTabBadge({ flags, guildId }: { flags: FlagsModel; guildId: string | null }): VNode | null {
  const n = openCount(flags.state.value, guildId);
  return n > 0 ? html`<span class="flag-badge" data-open-flags=${n} aria-label=${`${n} open`}>${n}</span>` : null;
}
