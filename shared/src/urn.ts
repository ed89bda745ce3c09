/** URNs `urn:<provider>:<kind>:<tenant>:<id>`; the id may itself contain colons. */
import { PrometheanError } from './errors.ts';
import { ID_TOKEN_RE } from './topics.ts';

export interface UrnParts {
  provider: string;
  kind: string;
  tenant: string;
  id: string;
}

export function formatUrn({ provider, kind, tenant, id }: UrnParts): string {
  for (const [name, v] of [['provider', provider], ['kind', kind], ['tenant', tenant]] as const) {
    if (!ID_TOKEN_RE.test(v)) throw new PrometheanError('schema', `bad URN ${name} "${v}"`);
  }
  if (id.length === 0) throw new PrometheanError('schema', 'URN id is empty');
  return `urn:${provider}:${kind}:${tenant}:${id}`;
}

export function parseUrn(value: string): UrnParts {
  const parts = value.split(':');
  if (parts.length < 5 || parts[0] !== 'urn') throw new PrometheanError('schema', `not a URN: "${value}"`);
  const [, provider, kind, tenant] = parts as [string, string, string, string];
  const id = parts.slice(4).join(':');
  for (const v of [provider, kind, tenant]) {
    if (!ID_TOKEN_RE.test(v)) throw new PrometheanError('schema', `bad URN token "${v}" in "${value}"`);
  }
  if (id.length === 0) throw new PrometheanError('schema', `URN id is empty in "${value}"`);
  return { provider, kind, tenant, id };
}
