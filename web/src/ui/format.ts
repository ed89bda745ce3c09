/** Words and small formatting for the UI. Pure. */
import type { ListenerState } from '../media/listener-machine.ts';
import type { BusStatus } from '../net/bus.ts';
import type { SessionStatus } from '../state/types.ts';

/** Up to two letters from a display name: "Ada Lovelace" → "AL", "zed" → "ZE", emoji kept whole. */
export function initials(name: string): string {
  const words = name.trim().split(/[\s._-]+/u).filter(Boolean);
  if (words.length === 0) return '?';
  const first = (w: string) => Array.from(w)[0] ?? '';
  const letters = words.length >= 2 ? first(words[0]!) + first(words[1]!) : Array.from(words[0]!).slice(0, 2).join('');
  return letters.toLocaleUpperCase();
}

export function moderatorsListening(count: number): string {
  if (count <= 0) return 'No moderators listening';
  return count === 1 ? '1 moderator listening' : `${count} moderators listening`;
}

export function sessionStatusLabel(status: SessionStatus, stale: boolean): string {
  if (stale) return 'no updates';
  switch (status) {
    case 'connected':
    case 'unknown':
      return 'live';
    case 'reconnecting':
      return 'reconnecting';
    case 'disconnected':
      return 'disconnected';
    case 'dave_required':
      return 'needs DAVE';
    case 'kicked':
      return 'removed from channel';
    case 'failed':
      return 'join failed';
  }
}

export function busLabel(status: BusStatus): string {
  switch (status) {
    case 'open':
      return 'live';
    case 'idle':
    case 'connecting':
      return 'connecting…';
    case 'reconnecting':
      return 'reconnecting…';
    case 'closed':
      return 'offline';
  }
}

export function audioLabel(state: ListenerState): string {
  switch (state.status) {
    case 'idle':
      return 'off';
    case 'negotiating':
      return state.attempt > 0 ? 'reconnecting…' : 'connecting…';
    case 'live':
      return 'live';
    case 'reconnecting':
      return 'reconnecting…';
    case 'error':
      return 'error';
  }
}

/** Only http(s) and inline images; anything else (javascript:, file:) is dropped. */
export function safeImageUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  if (/^data:image\/(png|jpeg|gif|webp);/i.test(url)) return url;
  try {
    const u = new URL(url, 'https://invalid.example/');
    return u.protocol === 'https:' || u.protocol === 'http:' ? url : null;
  } catch {
    return null;
  }
}

export function formatMs(ms: number | null): string {
  return ms === null ? '—' : `${Math.round(ms)} ms`;
}

export function formatPct(pct: number): string {
  return `${pct < 10 ? pct.toFixed(1) : Math.round(pct)} %`;
}

/** Meter fill, 0..100, for a level in dBFS shown over −60..0. */
export function meterPercent(db: number): number {
  return Math.round(Math.min(100, Math.max(0, ((db + 60) / 60) * 100)));
}
