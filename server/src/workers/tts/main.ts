/**
 * Entry of the TTS worker process. Tokenless: its environment holds the hub URL, the path of its bus
 * key, the local speech server's URL and the path of speech.yml, nothing else (the supervisor spawns
 * it once the speech server is ready). Reports `ready` over IPC once subscribed.
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { agentBusFrom, runAsProgram } from '@promethean/shared/node';
import { loadSpeechConfig } from '../../speech/config.ts';
import { connectWorkerBus, readWorkerEnv, serveUntilStopped, WorkerEnv } from '../program.ts';
import { startTts, ttsFromConfig } from './index.ts';

const DEFAULT_SPEECH_CONFIG = fileURLToPath(new URL('../../../../speech.yml', import.meta.url));

const TtsEnv = WorkerEnv.extend({
  /** The local speech server's OpenAI-compatible base URL (with `/v1`), for speech.yml's `url: local`. */
  PROMETHEAN_SPEECH_URL: z.url({ protocol: /^https?$/ }).optional(),
  PROMETHEAN_SPEECH_CONFIG: z.string().min(1).default(DEFAULT_SPEECH_CONFIG),
  /** How far the background lane is lowered while the bot speaks, dB. */
  PROMETHEAN_TTS_DUCKING_DB: z.coerce.number().min(-60).max(0).default(-12),
});

async function main(): Promise<number> {
  const env = readWorkerEnv('tts', TtsEnv);
  if (!env) return 2;
  const speech = await loadSpeechConfig(env.PROMETHEAN_SPEECH_CONFIG);
  const bus = await connectWorkerBus(env);
  const tts = startTts(agentBusFrom(bus), ttsFromConfig(speech, env.PROMETHEAN_SPEECH_URL), { duckingDb: env.PROMETHEAN_TTS_DUCKING_DB, logLevel: env.PROMETHEAN_LOG_LEVEL });
  return serveUntilStopped(() => tts.stop(), () => bus.close());
}

runAsProgram(import.meta.url, 'tts', main);
