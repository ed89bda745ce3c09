/**
 * Entry of the cephalon-social process. Tokenless: its environment holds the hub URL, the path of its
 * bus key, cephalon.yml, where the LLM is (speech.yml and/or the local speech server's URL) and,
 * optionally, the store for recall; never a provider credential.
 *
 * - `PROMETHEAN_CEPHALON_FILE`: cephalon.yml; unset = replies are off in every guild.
 * - `PROMETHEAN_SPEECH_CONFIG`: speech.yml (the LLM per tenant and guild); unset = the local speech
 *   server's default LLM.
 * - `PROMETHEAN_SPEECH_URL`: the local speech server's base URL (`http://127.0.0.1:PORT/v1`), for
 *   endpoints whose url is `local`.
 * - `DATABASE_URL`: PostgreSQL with pgvector shared with the server and the embedder: recall of related
 *   stored messages (PGlite is single-process, so there is none without it).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { agentBusFrom, runAsProgram } from '@promethean/shared/node';
import { connectWorkerBus, readWorkerEnv, serveUntilStopped, WorkerEnv } from '../program.ts';
import { createEngines, loadSpeechConfig, type SpeechConfig } from '../../speech/config.ts';
import { OpenAiEndpoint, OpenAiLlm } from '../../speech/openai-driver.ts';
import type { Llm } from '../../speech/types.ts';
import { CephalonSocialPolicy, CephalonSocialSection, parseCephalonSocialConfig, type CephalonSocialConfig } from './config.ts';
import type { Recall } from './history.ts';
import { startCephalonSocial, type LlmScope } from './index.ts';

const Env = WorkerEnv.extend({
  PROMETHEAN_CEPHALON_FILE: z.string().min(1).optional(),
  PROMETHEAN_SPEECH_CONFIG: z.string().min(1).optional(),
  PROMETHEAN_SPEECH_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** The local speech server's LLM when no speech.yml names one. */
  PROMETHEAN_CEPHALON_MODEL: z.string().min(1).default('gemma-3-270m-q4_k_m'),
  DATABASE_URL: z.string().min(1).optional(),
  PROMETHEAN_MODELS_DIR: z.string().min(1).optional(),
}).refine((e) => e.PROMETHEAN_SPEECH_CONFIG !== undefined || e.PROMETHEAN_SPEECH_URL !== undefined, {
  message: 'set PROMETHEAN_SPEECH_URL (the local speech server) or PROMETHEAN_SPEECH_CONFIG (speech.yml)', path: ['PROMETHEAN_SPEECH_URL'],
});
type Env = z.infer<typeof Env>;

/** LLMs per (tenant, guild), made once each (bounded: one per configured guild at most, plus defaults). */
function llmFactory(env: Env, speech: SpeechConfig | undefined): (scope: LlmScope) => Llm {
  const made = new Map<string, Llm>();
  return (scope) => {
    const key = `${scope.provider}/${scope.tenant}/${scope.guildId}`;
    let llm = made.get(key);
    if (!llm) {
      llm = speech
        ? createEngines(speech, { tenant: `${scope.provider}/${scope.tenant}`, guild: scope.guildId }, { ...(env.PROMETHEAN_SPEECH_URL ? { localUrl: env.PROMETHEAN_SPEECH_URL } : {}), env: process.env }).llm
        : new OpenAiLlm(new OpenAiEndpoint({ name: 'local', baseUrl: env.PROMETHEAN_SPEECH_URL! }), { model: env.PROMETHEAN_CEPHALON_MODEL });
      if (made.size >= 10_000) made.delete(made.keys().next().value as string);
      made.set(key, llm);
    }
    return llm;
  };
}

async function openRecall(env: Env): Promise<{ recall: Recall; close: () => Promise<void> } | undefined> {
  if (!env.DATABASE_URL) return undefined;
  const [{ createStore, SqlStore }, { SemanticSearch }, { openServerEmbedder }, { modelCacheDir }, { SemanticRecall }] = await Promise.all([
    import('../../store/index.ts'), import('../../embed/semantic-search.ts'), import('../../embed/server-embedder.ts'), import('../../embed/manifest.ts'), import('./history.ts'),
  ]);
  const store = await createStore({ databaseUrl: env.DATABASE_URL });
  if (!(store instanceof SqlStore) || !store.capabilities.vector) {
    await store.close();
    console.error('cephalon-social: the store has no pgvector; replies go without recall');
    return undefined;
  }
  const embedder = await openServerEmbedder({ cacheDir: modelCacheDir({ PROMETHEAN_MODELS_DIR: env.PROMETHEAN_MODELS_DIR }) });
  return { recall: new SemanticRecall(new SemanticSearch(store, embedder), store), close: async () => { await embedder.close(); await store.close(); } };
}

async function main(): Promise<number> {
  const env = readWorkerEnv('cephalon-social', Env);
  if (!env) return 2;
  let social: CephalonSocialConfig;
  let configRev = 'none';
  let speech: SpeechConfig | undefined;
  try {
    if (env.PROMETHEAN_CEPHALON_FILE) {
      const text = await readFile(env.PROMETHEAN_CEPHALON_FILE, 'utf8');
      social = parseCephalonSocialConfig(text, env.PROMETHEAN_CEPHALON_FILE);
      configRev = createHash('sha256').update(text).digest('hex').slice(0, 16);
    } else {
      social = CephalonSocialSection.parse({});
    }
    speech = env.PROMETHEAN_SPEECH_CONFIG ? await loadSpeechConfig(env.PROMETHEAN_SPEECH_CONFIG) : undefined;
  } catch (error) {
    console.error(`cephalon-social: ${(error as Error).message}`);
    return 2;
  }
  const policy = new CephalonSocialPolicy(social);
  const enabled = policy.enabledGuilds();
  console.error(`cephalon-social: replies on in ${enabled.length === 0 ? 'no guild (cephalon.yml social.tenants[].guilds[].enabled)' : enabled.join(', ')} (config ${configRev})`);
  const recall = await openRecall(env).catch((error: unknown) => {
    console.error(`cephalon-social: no recall: ${(error as Error).message}`);
    return undefined;
  });
  const bus = await connectWorkerBus(env);
  const running = startCephalonSocial(agentBusFrom(bus), {
    policy, llmFor: llmFactory(env, speech), recall: recall?.recall, logLevel: env.PROMETHEAN_LOG_LEVEL, configRev,
  });
  // An owner's console switch wins over the file: say where it is on now whenever a table arrives.
  running.worker.toggles.logChanges('cephalon-social');
  await running.ready;
  return serveUntilStopped(() => running.stop(), () => bus.close(), () => recall?.close());
}

runAsProgram(import.meta.url, 'cephalon-social', main);
