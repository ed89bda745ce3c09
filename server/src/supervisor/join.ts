/** Asking the voice access agent to join the stand-in's channel once it reports health. */
import { PrometheanError, makeEnvelope, type BusClient } from '@promethean/shared';
import type { SupervisedChild } from './child.ts';

/** Waits for the voice access agent's next health envelope, then asks it to join `target`. */
export async function joinWhenReady(
  bus: BusClient,
  tenant: string,
  target: { guildId: string; channelId: string },
  agent: SupervisedChild,
  log: (line: string) => void,
  timeoutMs = 60_000,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      agent.off('exit', onExit);
      unsubscribe();
      if (error) reject(error);
      else resolve();
    };
    const onExit = (code: number | null) => done(new PrometheanError('internal', `the voice access agent exited (code ${code}) before it was ready; see its log lines above`));
    const timer = setTimeout(() => done(new PrometheanError('timeout', `the voice access agent did not report health within ${timeoutMs / 1000} s; see its log lines above`)), timeoutMs);
    const unsubscribe = bus.subscribe(`promethean.p.discord.t.${tenant}.health`, (env) => {
      if (env.src === 'discord-voice-access') done();
    });
    agent.once('exit', onExit);
  });
  bus.publish(
    makeEnvelope('voice.control.join', { guild_id: target.guildId, channel_id: target.channelId, prefer_opus: true, self_mute: false, self_deaf: false }, { src: 'supervisor', provider: 'discord', tenant }),
  );
  log(`voice: asked discord-voice-access to join ${target.guildId}/${target.channelId}`);
}
