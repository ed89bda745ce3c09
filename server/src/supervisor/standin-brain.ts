/**
 * The stand-in demo's voice brain. With no Discord credentials `promethean start` runs the local
 * stand-in, whose simulated asker now and then puts a question to the bot; so that a newcomer hears
 * the bot answer, cephalon-voice answers in the stand-in's guild. The owner's cephalon.yml stays as
 * it is (real guilds stay off by default): the supervisor writes a copy into the data directory whose
 * `voice` section also turns the stand-in's guild on, and gives that copy to cephalon-voice only.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { parseYamlConfig } from '@promethean/shared';

/** The names that address the bot when the file lists none for the tenant (cephalon.yml's default). */
const DEFAULT_NAMES = ['promethean'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Writes `target`: `source` (cephalon.yml, when it exists) with `guildId` turned on in the voice
 * section of the discord tenant `tenant`. Throws PrometheanError('bad_config') when `source` is not
 * YAML; its fields are left to cephalon-voice's own checks. Written as JSON, which YAML reads.
 */
export async function writeStandinVoiceBrain(options: { source: string; target: string; tenant: string; guildId: string }): Promise<string> {
  const { source, target, tenant, guildId } = options;
  const parsed = existsSync(source) ? parseYamlConfig(await readFile(source, 'utf8'), 'bad_config', source).value : undefined;
  const file: Obj = isObj(parsed) ? parsed : { version: 1 };
  const voice: Obj = isObj(file.voice) ? file.voice : {};
  const tenants: unknown[] = Array.isArray(voice.tenants) ? voice.tenants : [];
  let entry = tenants.find((t): t is Obj => isObj(t) && t.id === tenant && (t.provider ?? 'discord') === 'discord');
  if (!entry) {
    entry = { id: tenant, names: DEFAULT_NAMES, guilds: [] };
    tenants.push(entry);
  }
  const guilds = (Array.isArray(entry.guilds) ? entry.guilds : []).filter((g) => !(isObj(g) && g.id === guildId));
  guilds.push({ id: guildId, enabled: true });
  entry.guilds = guilds;
  voice.tenants = tenants;
  file.voice = voice;
  const header = `# Written by promethean start for the Discord stand-in: ${existsSync(source) ? source : 'no cephalon.yml'} with the\n# voice brain on in the stand-in's guild ${guildId}. Given to cephalon-voice only; edit cephalon.yml instead.\n`;
  await writeFile(target, `${header}${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  return target;
}
