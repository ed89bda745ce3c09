/**
 * Ops real voice servers send that no public document describes. Clients must ignore them; the
 * stand-in emits a few so that clients that choke on them fail here first. Payload shapes are guesses
 * modelled on what community client libraries log; they carry nothing a client needs.
 */
import { UndocumentedVoiceOp } from '@promethean/shared/providers/discord';
import type { SpeakerHandle, VoiceClientHandle } from './extension.ts';

export function sendUndocumentedOps(to: VoiceClientHandle, speakers: SpeakerHandle[], clients: VoiceClientHandle[]): void {
  to.sendJson(UndocumentedVoiceOp.MediaSinkWants, { any: 100 });
  const others = [...speakers.map((s) => ({ userId: s.userId, ssrc: s.ssrc })), ...clients.filter((c) => c !== to).map((c) => ({ userId: c.userId, ssrc: c.ssrc }))];
  for (const o of others) {
    to.sendJson(UndocumentedVoiceOp.ClientFlags, { user_id: o.userId, flags: 0 });
    to.sendJson(UndocumentedVoiceOp.ClientPlatform, { user_id: o.userId, platform: 0 });
    to.sendJson(UndocumentedVoiceOp.Video, { user_id: o.userId, audio_ssrc: o.ssrc, video_ssrc: 0, rtx_ssrc: 0, streams: [] });
  }
}
