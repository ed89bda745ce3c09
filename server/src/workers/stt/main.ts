/**
 * Entry of the STT worker process. Tokenless: its environment holds the hub URL, the path of its bus
 * key, the local speech server's URL and the path of speech.yml, nothing else (the supervisor spawns
 * it once the speech server is ready). Reports `ready` over IPC once subscribed.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { PrometheanError } from '@promethean/shared';
import { agentBusFrom, runAsProgram } from '@promethean/shared/node';
import { parseSpeechConfig } from '../../speech/config.ts';
import { connectWorkerBus, readWorkerEnv, serveUntilStopped, WorkerEnv } from '../program.ts';
import { parseTranscriptionConfig, TranscriptionPolicy } from './config.ts';
import { startStt, sttFromConfig } from './index.ts';

const DEFAULT_SPEECH_CONFIG = fileURLToPath(new URL('../../../../speech.yml', import.meta.url));

const SttEnv = WorkerEnv.extend({
  /** The local speech server's OpenAI-compatible base URL (with `/v1`), for speech.yml's `url: local`. */
  PROMETHEAN_SPEECH_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** speech.yml (engines per tenant/guild and the `transcription:` section). */
  PROMETHEAN_SPEECH_CONFIG: z.string().min(1).default(DEFAULT_SPEECH_CONFIG),
});

async function main(): Promise<number> {
  const env = readWorkerEnv('stt', SttEnv);
  if (!env) return 2;
  let text: string;
  try {
    text = await readFile(env.PROMETHEAN_SPEECH_CONFIG, 'utf8');
  } catch (cause) {
    throw new PrometheanError('bad_config', `cannot read ${env.PROMETHEAN_SPEECH_CONFIG}: ${(cause as Error).message}`, { cause });
  }
  const speech = parseSpeechConfig(text, env.PROMETHEAN_SPEECH_CONFIG);
  const policy = new TranscriptionPolicy(parseTranscriptionConfig(text, env.PROMETHEAN_SPEECH_CONFIG));
  const bus = await connectWorkerBus(env);
  const stt = await startStt(agentBusFrom(bus), sttFromConfig(speech, env.PROMETHEAN_SPEECH_URL), { policy, logLevel: env.PROMETHEAN_LOG_LEVEL });
  return serveUntilStopped(() => stt.stop(), () => bus.close());
}

runAsProgram(import.meta.url, 'stt', main);
