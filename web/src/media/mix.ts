/** What the moderator hears from each speaker, from per-speaker volume / mute / solo. Pure. */

export interface SpeakerPrefs {
  /** 0..1, applied to the speaker's audio element. */
  volume: number;
  muted: boolean;
  solo: boolean;
}

export const defaultSpeakerPrefs: SpeakerPrefs = { volume: 1, muted: false, solo: false };

export interface SpeakerOutput {
  volume: number;
  muted: boolean;
}

/**
 * Outputs for the speakers in `userIds`. When any of them is soloed only the soloed are heard;
 * mute always wins; volume is clamped to 0..1.
 */
export function mixOutputs(prefs: Readonly<Record<string, SpeakerPrefs>>, userIds: readonly string[]): Record<string, SpeakerOutput> {
  const soloing = userIds.some((id) => prefs[id]?.solo === true);
  const out: Record<string, SpeakerOutput> = {};
  for (const id of userIds) {
    const p = prefs[id] ?? defaultSpeakerPrefs;
    const v = Number.isFinite(p.volume) ? Math.min(1, Math.max(0, p.volume)) : 1;
    out[id] = { volume: v, muted: p.muted || (soloing && !p.solo) };
  }
  return out;
}
