/**
 * speech.yml: which speech endpoint and model serve each tenant (and guild), read once at start-up
 * like providers.yml. Bad config stops with a message naming the field and line.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { PrometheanError, issuesMessage, parseYamlConfig } from '@promethean/shared';
import { OpenAiEndpoint, OpenAiLlm, OpenAiStt, OpenAiTts } from './openai-driver.ts';
import type { Llm, Stt, Tts } from './types.ts';

/** `url: local` means the supervised local speech server (`promethean speech serve`). */
export const LOCAL_URL = 'local';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const Endpoint = z.strictObject({
  url: z.union([z.literal(LOCAL_URL), z.url({ protocol: /^https?$/ })]),
  /** Name of the environment variable holding a bearer token; never the token itself. */
  api_key_env: z.string().regex(ENV_NAME, 'must be an environment variable name').optional(),
  timeout_ms: z.int().min(1000).max(600_000).optional(),
});
const Base = { endpoint: z.string().min(1), model: z.string().min(1).max(200), engine: z.string().min(1).optional() };
const SttChoice = z.strictObject({ ...Base, language: z.string().regex(/^[a-z]{2,3}$/, 'must be an ISO-639-1 code such as en').optional() });
const TtsChoice = z.strictObject({ ...Base, voice: z.string().min(1).optional() });
const LlmChoice = z.strictObject({ ...Base, temperature: z.number().min(0).max(2).optional(), max_tokens: z.int().min(1).max(4096).optional() });
const Choices = z.strictObject({ stt: SttChoice.optional(), tts: TtsChoice.optional(), llm: LlmChoice.optional() });
const TenantChoices = Choices.extend({ guilds: z.record(z.string().regex(/^\d{1,20}$/, 'must be a guild id'), Choices).optional() });

export const SpeechConfigSchema = z.strictObject({
  version: z.literal(1),
  endpoints: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a [a-z0-9_-] name'), Endpoint),
  defaults: z.strictObject({ stt: SttChoice, tts: TtsChoice, llm: LlmChoice }),
  /** `<provider>/<tenant>` → the kinds that differ from the defaults. */
  tenants: z.record(z.string().regex(/^[a-z0-9_-]+\/[a-z0-9_-]+$/, 'must be <provider>/<tenant>'), TenantChoices).optional(),
  /** Opt-out lists and languages for live transcripts; parsed by workers/stt/config.ts. */
  transcription: z.unknown().optional(),
});
export type SpeechConfig = z.infer<typeof SpeechConfigSchema>;
export type SttChoice = z.infer<typeof SttChoice>;
export type TtsChoice = z.infer<typeof TtsChoice>;
export type LlmChoice = z.infer<typeof LlmChoice>;

export function parseSpeechConfig(text: string, source = 'speech.yml'): SpeechConfig {
  const { value, locate } = parseYamlConfig(text, 'bad_config', source);
  const r = SpeechConfigSchema.safeParse(value);
  if (!r.success) {
    const { path } = issuesMessage(r.error, '');
    throw new PrometheanError('bad_config', `${source}: ${path || 'document'}: ${r.error.issues[0]?.message ?? 'invalid'}${locate(path ? path.split('.') : [])}`, { path });
  }
  const config = r.data;
  const check = (where: string, choice: { endpoint: string } | undefined) => {
    if (choice && !(choice.endpoint in config.endpoints)) {
      throw new PrometheanError('bad_config', `${source}: ${where}.endpoint: no endpoint "${choice.endpoint}" (known: ${Object.keys(config.endpoints).join(', ')})${locate([...where.split('.'), 'endpoint'])}`, { path: `${where}.endpoint` });
    }
  };
  for (const kind of ['stt', 'tts', 'llm'] as const) check(`defaults.${kind}`, config.defaults[kind]);
  for (const [tenant, t] of Object.entries(config.tenants ?? {})) {
    for (const kind of ['stt', 'tts', 'llm'] as const) check(`tenants.${tenant}.${kind}`, t[kind]);
    for (const [guild, g] of Object.entries(t.guilds ?? {})) for (const kind of ['stt', 'tts', 'llm'] as const) check(`tenants.${tenant}.guilds.${guild}.${kind}`, g[kind]);
  }
  return config;
}

export async function loadSpeechConfig(path: string): Promise<SpeechConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new PrometheanError('bad_config', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseSpeechConfig(text, path);
}

export interface SpeechScope {
  /** `<provider>/<tenant>` (`discord/demo`). */
  tenant?: string;
  guild?: string;
}

/** The choice for one kind: the guild's, else the tenant's, else the default. */
export function choiceFor<K extends 'stt' | 'tts' | 'llm'>(config: SpeechConfig, kind: K, scope: SpeechScope = {}): SpeechConfig['defaults'][K] {
  const tenant = scope.tenant ? config.tenants?.[scope.tenant] : undefined;
  const guild = scope.guild ? tenant?.guilds?.[scope.guild] : undefined;
  return (guild?.[kind] ?? tenant?.[kind] ?? config.defaults[kind]) as SpeechConfig['defaults'][K];
}

export interface EngineContext {
  /** Base URL (with `/v1`) of the local speech server, for endpoints whose url is `local`. */
  localUrl?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

function endpointFor(config: SpeechConfig, name: string, ctx: EngineContext): OpenAiEndpoint {
  const e = config.endpoints[name]!;
  let baseUrl = e.url;
  if (e.url === LOCAL_URL) {
    if (!ctx.localUrl) throw new PrometheanError('unavailable', `speech endpoint "${name}" is the local speech server, which is not running`);
    baseUrl = ctx.localUrl;
  }
  let apiKey: string | undefined;
  if (e.api_key_env) {
    apiKey = ctx.env?.[e.api_key_env];
    if (!apiKey) throw new PrometheanError('bad_config', `speech endpoint "${name}": environment variable ${e.api_key_env} is not set`);
  }
  return new OpenAiEndpoint({ name, baseUrl, ...(apiKey ? { apiKey } : {}), ...(e.timeout_ms ? { timeoutMs: e.timeout_ms } : {}) });
}

/** The three engines one tenant (and guild) uses, as drivers over their endpoints. */
export function createEngines(config: SpeechConfig, scope: SpeechScope, ctx: EngineContext): { stt: Stt; tts: Tts; llm: Llm } {
  const stt = choiceFor(config, 'stt', scope);
  const tts = choiceFor(config, 'tts', scope);
  const llm = choiceFor(config, 'llm', scope);
  return {
    stt: new OpenAiStt(endpointFor(config, stt.endpoint, ctx), { model: stt.model, ...(stt.engine ? { engine: stt.engine } : {}), ...(stt.language ? { language: stt.language } : {}) }),
    tts: new OpenAiTts(endpointFor(config, tts.endpoint, ctx), { model: tts.model, ...(tts.engine ? { engine: tts.engine } : {}), ...(tts.voice ? { voice: tts.voice } : {}) }),
    llm: new OpenAiLlm(endpointFor(config, llm.endpoint, ctx), {
      model: llm.model,
      ...(llm.engine ? { engine: llm.engine } : {}),
      ...(llm.temperature !== undefined ? { temperature: llm.temperature } : {}),
      ...(llm.max_tokens !== undefined ? { maxTokens: llm.max_tokens } : {}),
    }),
  };
}
