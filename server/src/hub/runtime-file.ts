/**
 * `<dataDir>/runtime.json`: how agents and CLI clients (`tap`, `bench`) find the running hub.
 * Written with mode 0600; holds the hub URL and the path of the agent key file, never a secret.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PrometheanError } from '@promethean/shared';

export interface RuntimeInfo {
  /** `ws://host:port/bus`. */
  hub_url: string;
  /** Path of the agent key file. */
  key_file: string;
  pid: number;
  /** ISO 8601 UTC. */
  started_at: string;
}

const FIELD_CHECKS: { [K in keyof RuntimeInfo]: [(v: unknown) => boolean, string] } = {
  hub_url: [(v) => typeof v === 'string' && /^wss?:\/\/\S+$/.test(v), 'must be a ws:// or wss:// URL'],
  key_file: [(v) => typeof v === 'string' && v.length > 0, 'must be a non-empty path'],
  pid: [(v) => typeof v === 'number' && Number.isInteger(v) && v > 0, 'must be a positive integer'],
  started_at: [(v) => typeof v === 'string' && !Number.isNaN(Date.parse(v)), 'must be an ISO 8601 time'],
};

/** Checks a decoded runtime file; throws `bad_config` naming the first bad field. */
export function parseRuntimeInfo(raw: unknown, where = 'runtime.json'): RuntimeInfo {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PrometheanError('bad_config', `${where}: must be a JSON object`);
  }
  const out: Record<string, unknown> = {};
  for (const [field, [ok, message]] of Object.entries(FIELD_CHECKS)) {
    const value = (raw as Record<string, unknown>)[field];
    if (!ok(value)) throw new PrometheanError('bad_config', `${where}: ${field} ${message}`, { path: field });
    out[field] = value;
  }
  return out as unknown as RuntimeInfo;
}

export function runtimeFilePath(dataDir: string): string {
  return join(dataDir, 'runtime.json');
}

/** Writes the runtime file atomically (temp file + rename), mode 0600. */
export async function writeRuntimeFile(dataDir: string, info: RuntimeInfo): Promise<string> {
  const parsed = parseRuntimeInfo(info);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = runtimeFilePath(dataDir);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(parsed, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
  return path;
}

/**
 * Reads and validates the runtime file. Throws `PrometheanError` `bad_config` naming the field when
 * it is malformed, and `invalid_state` when there is none (no hub running from this data directory).
 */
export async function readRuntimeFile(dataDir: string): Promise<RuntimeInfo> {
  const path = runtimeFilePath(dataDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new PrometheanError('invalid_state', `no hub runtime file at ${path}; is the hub running?`, { cause });
    }
    throw cause;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new PrometheanError('bad_config', `${path} is not valid JSON`, { cause });
  }
  return parseRuntimeInfo(raw, path);
}

/** Removes the runtime file when it still belongs to `pid` (a newer hub may have replaced it). */
export async function removeRuntimeFile(dataDir: string, pid: number = process.pid): Promise<void> {
  try {
    const info = await readRuntimeFile(dataDir);
    if (info.pid !== pid) return;
  } catch {
    return;
  }
  await rm(runtimeFilePath(dataDir), { force: true });
}
