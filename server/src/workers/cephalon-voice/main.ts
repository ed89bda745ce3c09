/**
 * Entry of cephalon-voice. Tokenless: its environment holds the hub URL, its bus key, the local
 * speech server's URL, speech.yml's path and cephalon.yml's path (unset: answers in no guild).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { agentBusFrom, runAsProgram } from '@promethean/shared/node';
import { loadSpeechConfig } from '../../speech/config.ts';
import { connectWorkerBus, readWorkerEnv, serveUntilStopped, WorkerEnv } from '../program.ts';
import { CephalonVoicePolicy, CephalonVoiceSection, llmFromConfig, parseCephalonVoiceConfig, startCephalonVoice } from './index.ts';

const DEFAULT_SPEECH_CONFIG = fileURLToPath(new URL('../../../../speech.yml', import.meta.url));

const Env = WorkerEnv.extend({
  PROMETHEAN_SPEECH_URL: z.url({ protocol: /^https?$/ }).optional(),
  PROMETHEAN_SPEECH_CONFIG: z.string().min(1).default(DEFAULT_SPEECH_CONFIG),
  PROMETHEAN_CEPHALON_FILE: z.string().min(1).optional(),
});

async function main(): Promise<number> {
  const env = readWorkerEnv('cephalon-voice', Env);
  if (!env) return 2;
  let text = '';
  try {
    if (env.PROMETHEAN_CEPHALON_FILE) text = await readFile(env.PROMETHEAN_CEPHALON_FILE, 'utf8');
  } catch (error) {
    console.error(`cephalon-voice: ${(error as Error).message}`);
    return 2;
  }
  const config = text ? parseCephalonVoiceConfig(text, env.PROMETHEAN_CEPHALON_FILE) : CephalonVoiceSection.parse({});
  const policy = new CephalonVoicePolicy(config);
  const enabled = policy.enabledGuilds();
  console.error(`cephalon-voice: answers in ${enabled.length === 0 ? 'no guild (cephalon.yml voice.tenants[].guilds[].enabled)' : enabled.join(', ')}`);
  const speech = await loadSpeechConfig(env.PROMETHEAN_SPEECH_CONFIG);
  const bus = await connectWorkerBus(env);
  const configRev = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const running = startCephalonVoice(agentBusFrom(bus), policy, llmFromConfig(speech, env.PROMETHEAN_SPEECH_URL), { logLevel: env.PROMETHEAN_LOG_LEVEL, configRev });
  // An owner's console switch wins over the file: say where it is on now whenever a table arrives.
  running.worker.toggles.logChanges('cephalon-voice');
  return serveUntilStopped(() => running.stop(), () => bus.close());
}

runAsProgram(import.meta.url, 'cephalon-voice', main);
