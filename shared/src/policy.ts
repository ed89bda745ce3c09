/**
 * Capabilities and the policy gate. Every effect an agent performs (touching a provider, a file, the
 * bus) is checked here against what its manifest declares; a denial is a `forbidden` error that the
 * runtime turns into an `error` envelope, never a side effect.
 *
 * Capability strings:
 * - `provider.<provider>.<action>` (`provider.discord.voice`, `provider.discord.rest`, action `*` = all):
 *   only agents of kind `access` may hold them.
 * - `fs.read:<prefix>`, `fs.write:<prefix>`: path prefixes, normalised (`..` may not escape; a trailing
 *   `/**` is accepted and ignored).
 * - `bus.publish:<intent pattern>`, `bus.subscribe:<intent pattern>`: NATS wildcards and `(a|b)`.
 * - anything else `area.verb` or `area.verb:<resource>` (`llm.complete:qwen3`): matched exactly.
 */
import { PrometheanError } from './errors.ts';
import { expandAlternations, ID_TOKEN_RE, isTopicPattern } from './topics.ts';

export type AgentKind = 'access' | 'worker';

export type Capability =
  | { kind: 'provider'; raw: string; provider: string; action: string }
  | { kind: 'fs.read' | 'fs.write'; raw: string; prefix: string }
  | { kind: 'bus.publish' | 'bus.subscribe'; raw: string; patterns: string[] }
  | { kind: 'generic'; raw: string; name: string; resource: string | undefined };

export type Effect =
  | { kind: 'provider'; provider: string; tenant: string; action: string }
  | { kind: 'fs.read' | 'fs.write'; path: string }
  /** `intent` may be a subscription pattern (`voice.audio.*`); provider/tenant may be `*` for subscribe. */
  | { kind: 'bus.publish' | 'bus.subscribe'; provider: string; tenant: string; intent: string }
  | { kind: 'generic'; name: string; resource?: string };

/** What the gate needs to know about an agent; a parsed `AgentManifest` is one. */
export interface PolicySubject {
  id: string;
  kind: AgentKind;
  binds: { provider: string; tenants: readonly string[] };
  /** Expanded intent patterns the agent consumes (implicitly subscribable). */
  inputs: readonly string[];
  /** Expanded intent patterns the agent produces (implicitly publishable). */
  outputs: readonly string[];
  capabilities: readonly Capability[];
}

export type PolicyDecision = { allowed: true; by: string } | { allowed: false; error: PrometheanError };

/** Intents every agent may publish without declaring them. */
export const ALWAYS_PUBLISHABLE = ['health', 'error'] as const;

const GENERIC_RE = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+$/;

/**
 * Normalises a POSIX-style path: `\` counts as `/`, `.` and empty segments drop, `..` pops. Returns
 * undefined when `..` would climb above the root (or above the start of a relative path) or the path
 * holds a NUL. A relative path normalises to `.` at its top.
 */
export function normalizePath(path: string): string | undefined {
  if (path.length === 0 || path.includes('\0')) return undefined;
  const unified = path.replace(/\\/g, '/');
  const absolute = unified.startsWith('/');
  const out: string[] = [];
  for (const segment of unified.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(segment);
  }
  if (absolute) return `/${out.join('/')}`;
  return out.length === 0 ? '.' : out.join('/');
}

/** True when normalised `path` is `prefix` or inside it (segment-wise: `/a/bc` is not inside `/a/b`). */
export function isWithin(path: string, prefix: string): boolean {
  if (path.startsWith('/') !== prefix.startsWith('/')) return false;
  if (prefix === '/' || prefix === '.') return true;
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** True when every subject `inner` matches is matched by `outer` (both NATS patterns). */
export function patternCovers(outer: string, inner: string): boolean {
  const a = outer.split('.');
  const b = inner.split('.');
  for (let i = 0; i < a.length; i++) {
    const t = a[i]!;
    if (t === '>') return i < b.length;
    if (i >= b.length) return false;
    if (t === '*') {
      if (b[i] === '>') return false;
    } else if (t !== b[i]) return false;
  }
  return a.length === b.length;
}

/** Parses one capability string; throws {@link PrometheanError} `bad_manifest` saying what is wrong. */
export function parseCapability(raw: string): Capability {
  const bad = (why: string) => new PrometheanError('bad_manifest', `capability "${raw}": ${why}`);
  if (raw.startsWith('provider.')) {
    const [, provider, action, ...rest] = raw.split('.');
    if (provider === undefined || action === undefined || rest.length > 0) throw bad('expected provider.<provider>.<action>');
    if (!ID_TOKEN_RE.test(provider)) throw bad('provider must be a concrete [a-z0-9_-] token');
    if (action !== '*' && !ID_TOKEN_RE.test(action)) throw bad('action must be a [a-z0-9_-] token or *');
    return { kind: 'provider', raw, provider, action };
  }
  const colon = raw.indexOf(':');
  const name = colon < 0 ? raw : raw.slice(0, colon);
  const arg = colon < 0 ? undefined : raw.slice(colon + 1);
  if (name === 'fs.read' || name === 'fs.write') {
    if (!arg) throw bad(`expected ${name}:<path prefix>`);
    const prefix = normalizePath(arg.replace(/\/\*\*?$/, '') || '/');
    if (prefix === undefined) throw bad('prefix escapes its root with ".." or holds a NUL');
    return { kind: name, raw, prefix };
  }
  if (name === 'bus.publish' || name === 'bus.subscribe') {
    if (!arg) throw bad(`expected ${name}:<intent pattern>`);
    let patterns: string[];
    try {
      patterns = expandAlternations(arg);
    } catch (cause) {
      throw new PrometheanError('bad_manifest', `capability "${raw}": ${(cause as Error).message}`, { cause });
    }
    const wrong = patterns.find((p) => !isTopicPattern(p));
    if (wrong !== undefined) throw bad(`"${wrong}" is not an intent pattern`);
    return { kind: name, raw, patterns };
  }
  if (!GENERIC_RE.test(name)) throw bad('expected area.verb[:resource] in lower case');
  if (arg !== undefined && arg.length === 0) throw bad('empty resource after ":"');
  return { kind: 'generic', raw, name, resource: arg };
}

/** Whether an agent of `kind` may hold `capability` at all (`provider.*` is for access agents only). */
export function kindMayHold(kind: AgentKind, capability: Capability): boolean {
  return capability.kind !== 'provider' || kind === 'access';
}

export function describeEffect(effect: Effect): string {
  switch (effect.kind) {
    case 'provider':
      return `provider.${effect.provider}.${effect.action} for tenant "${effect.tenant}"`;
    case 'fs.read':
    case 'fs.write':
      return `${effect.kind} "${effect.path}"`;
    case 'bus.publish':
    case 'bus.subscribe':
      return `${effect.kind} ${effect.intent} on ${effect.provider}/${effect.tenant}`;
    case 'generic':
      return effect.resource === undefined ? effect.name : `${effect.name}:${effect.resource}`;
  }
}

function bound(agent: PolicySubject, provider: string, tenant: string): boolean {
  const { binds } = agent;
  const providerOk = binds.provider === '*' || binds.provider === provider;
  const tenantOk = binds.tenants.includes('*') || binds.tenants.includes(tenant);
  return providerOk && tenantOk;
}

/** Finds what grants `effect`, or says why nothing does. */
function grant(agent: PolicySubject, effect: Effect): { by: string } | { why: string } {
  switch (effect.kind) {
    case 'provider': {
      if (agent.kind !== 'access') return { why: 'only access agents may touch a provider' };
      if (!bound(agent, effect.provider, effect.tenant)) return { why: `it is not bound to ${effect.provider}/${effect.tenant}` };
      const cap = agent.capabilities.find(
        (c) => c.kind === 'provider' && c.provider === effect.provider && (c.action === '*' || c.action === effect.action),
      );
      return cap ? { by: cap.raw } : { why: `no provider.${effect.provider}.${effect.action} capability` };
    }
    case 'fs.read':
    case 'fs.write': {
      const path = normalizePath(effect.path);
      if (path === undefined) return { why: 'the path escapes its root with ".." or holds a NUL' };
      const cap = agent.capabilities.find((c) => c.kind === effect.kind && isWithin(path, c.prefix));
      return cap ? { by: cap.raw } : { why: `no ${effect.kind} capability covers "${path}"` };
    }
    case 'bus.publish':
    case 'bus.subscribe': {
      if (!bound(agent, effect.provider, effect.tenant)) return { why: `it is not bound to ${effect.provider}/${effect.tenant}` };
      const implicit: readonly string[] = effect.kind === 'bus.publish' ? [...agent.outputs, ...ALWAYS_PUBLISHABLE] : agent.inputs;
      const declared = implicit.find((p) => patternCovers(p, effect.intent));
      if (declared !== undefined) return { by: `${effect.kind === 'bus.publish' ? 'outputs' : 'inputs'}: ${declared}` };
      const cap = agent.capabilities.find((c) => c.kind === effect.kind && c.patterns.some((p) => patternCovers(p, effect.intent)));
      return cap ? { by: cap.raw } : { why: `neither its ${effect.kind === 'bus.publish' ? 'outputs' : 'inputs'} nor a ${effect.kind} capability cover "${effect.intent}"` };
    }
    case 'generic': {
      const cap = agent.capabilities.find(
        (c) => c.kind === 'generic' && c.name === effect.name && (c.resource === undefined || c.resource === effect.resource),
      );
      return cap ? { by: cap.raw } : { why: `no ${describeEffect(effect)} capability` };
    }
  }
}

/** Decides whether `agent` may perform `effect`. A denial carries a `forbidden` error that says why. */
export function checkEffect(agent: PolicySubject, effect: Effect): PolicyDecision {
  const result = grant(agent, effect);
  if ('by' in result) return { allowed: true, by: result.by };
  const message = `agent "${agent.id}" (${agent.kind}) may not ${describeEffect(effect)}: ${result.why}`;
  return { allowed: false, error: new PrometheanError('forbidden', message) };
}

/** {@link checkEffect} that throws the denial. */
export function assertEffect(agent: PolicySubject, effect: Effect): void {
  const decision = checkEffect(agent, effect);
  if (!decision.allowed) throw decision.error;
}
