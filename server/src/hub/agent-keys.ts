/**
 * Per-agent keys. The supervisor gives every agent (and `tap`) its own 256-bit key, kept in
 * `<dataDir>/keys/agents/<id>.key` (mode 0600, directories 0700); the hub knows only their sha-256, from
 * `<dataDir>/keys/agents.json`, with what each may publish: the outputs its manifest declares, or
 * nothing for a read-only key. Revoking a key removes it from that file; the hub notices and closes
 * the agent's connections. The hub's own `agent.key` remains the server's (and the operator's) key.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { PrometheanError } from '@promethean/shared';

const AgentId = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be a lowercase agent id');

export const AgentKeyEntry = z.object({
  id: AgentId,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Intents it may publish; empty with `readonly`. */
  outputs: z.array(z.string().min(1).max(255)).max(1024),
  readonly: z.boolean(),
  created_at: z.string(),
});
export type AgentKeyEntry = z.infer<typeof AgentKeyEntry>;

const AgentKeysFile = z.object({ version: z.literal(1), agents: z.array(AgentKeyEntry).max(1024) });

export function keysDir(dataDir: string): string {
  return join(dataDir, 'keys');
}

export function agentKeysFile(dataDir: string): string {
  return join(keysDir(dataDir), 'agents.json');
}

/** `keys/agents/<id>.key`: a folder of their own, so no agent id can collide with the server's keys (`keys/audit.key`). */
export function agentKeyPath(dataDir: string, id: string): string {
  return join(keysDir(dataDir), 'agents', `${AgentId.parse(id)}.key`);
}

/** The registered agent keys; none when the file does not exist. Throws `bad_config` naming a bad field. */
export async function loadAgentKeys(dataDir: string): Promise<AgentKeyEntry[]> {
  let text: string;
  try {
    text = await readFile(agentKeysFile(dataDir), 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw cause;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new PrometheanError('bad_config', `${agentKeysFile(dataDir)} is not JSON`, { cause });
  }
  const r = AgentKeysFile.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new PrometheanError('bad_config', `${agentKeysFile(dataDir)}: ${issue.path.join('.')}: ${issue.message}`, { path: issue.path.join('.') });
  }
  return r.data.agents;
}

async function save(dataDir: string, agents: AgentKeyEntry[]): Promise<void> {
  const file = agentKeysFile(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ version: 1, agents }, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

/**
 * Creates (or replaces) agent `id`'s key: a new random key in `<id>.key` (0600) and its hash in
 * agents.json. Returns the key file's path.
 */
export async function issueAgentKey(dataDir: string, id: string, grants: { outputs: string[]; readonly: boolean }): Promise<string> {
  const dir = keysDir(dataDir);
  await mkdir(join(dir, 'agents'), { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await chmod(join(dir, 'agents'), 0o700);
  const key = randomBytes(32).toString('hex');
  const path = agentKeyPath(dataDir, id);
  await writeFile(`${path}.tmp`, `${key}\n`, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
  const sha256 = createHash('sha256').update(key).digest('hex');
  const agents = (await loadAgentKeys(dataDir)).filter((a) => a.id !== id);
  agents.push({ id, sha256, outputs: grants.readonly ? [] : [...new Set(grants.outputs)], readonly: grants.readonly, created_at: new Date().toISOString() });
  await save(dataDir, agents);
  return path;
}

/** Revokes agent `id`'s key: gone from agents.json (the hub closes its connections) and from disk. */
export async function revokeAgentKey(dataDir: string, id: string): Promise<boolean> {
  const agents = await loadAgentKeys(dataDir);
  const rest = agents.filter((a) => a.id !== id);
  if (rest.length === agents.length) return false;
  await save(dataDir, rest);
  await rm(agentKeyPath(dataDir, id), { force: true });
  return true;
}
