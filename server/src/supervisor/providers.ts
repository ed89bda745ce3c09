/** Reading providers.yml in the supervisor (with secrets) and in the server (credentials left unresolved). */
import { PrometheanError, type ProviderRegistry } from '@promethean/shared';
import { loadProviders } from '@promethean/shared/node';

export interface ProvidersLoad {
  registry: ProviderRegistry;
  /** Credential variables that were unset; non-empty means the built-in stand-in is used. */
  missingCredentials: string[];
}

/** The value an unresolved credential holds in a registry loaded without secrets. It is no secret. */
export const UNRESOLVED_CREDENTIAL = 'unresolved-credential';

/**
 * Loads providers.yml. When credentials are missing, every unset credential variable is named and
 * the registry is loaded with a placeholder for each, so the app can run against the local Discord.
 */
export async function loadProvidersForStart(file: string, env: Readonly<Record<string, string | undefined>>): Promise<ProvidersLoad> {
  const missing: string[] = [];
  const overlay: Record<string, string> = {};
  for (let attempt = 0; attempt < 16; attempt++) {
    try {
      const registry = await loadProviders(file, { ...env, ...overlay });
      return { registry, missingCredentials: missing };
    } catch (error) {
      const e = error as PrometheanError;
      const m = /environment variable ([A-Za-z_][A-Za-z0-9_]*) is not set/.exec(e.message);
      if (!(e instanceof PrometheanError) || !m || !e.path?.includes('.credentials.')) throw error;
      missing.push(m[1]!);
      overlay[m[1]!] = UNRESOLVED_CREDENTIAL;
    }
  }
  throw new PrometheanError('bad_config', `${file}: too many unset credential variables`);
}

/** Every `${NAME}` variable providers.yml text references, credentials included. */
export function referencedVariables(yamlText: string): string[] {
  const names = new Set<string>();
  for (const m of yamlText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
  return [...names];
}

/**
 * The environment for a process that reads providers.yml but must never hold a secret (the server):
 * the non-credential variables the file references, and nothing else of `env`.
 */
export function settingsEnv(yamlText: string, registry: ProviderRegistry, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const credentials = new Set(registry.tenants.flatMap((t) => Object.values(t.credentials).map((c) => c.env)));
  const out: Record<string, string> = {};
  for (const name of referencedVariables(yamlText)) if (!credentials.has(name) && env[name] !== undefined) out[name] = env[name]!;
  return out;
}
