/**
 * Agent manifests (`agent.yml`): what an agent is, what it consumes and produces, and which effects it
 * may perform. Browser-safe; `@promethean/shared/node` reads the file. A bad manifest throws
 * {@link PrometheanError} `bad_manifest` whose `path` names the field (`capabilities.2`).
 *
 * ```yaml
 * id: stt-worker
 * kind: worker            # access | worker
 * version: 0.1.0
 * binds: { provider: "*", tenants: ["*"] }
 * inputs: [voice.audio.segment]
 * outputs: [duck.transcript.segment]
 * capabilities: ["fs.read:data/segments"]
 * health_interval_s: 10
 * durability: stateless   # stateless workers need an idempotency_key
 * idempotency_key: "{session_id}:{segment_id}"
 * ```
 * The seeds' form with everything under a top-level `agent:` key is accepted too.
 */
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { issuesMessage } from './envelope.ts';
import { PrometheanError } from './errors.ts';
import { kindMayHold, parseCapability, type Capability, type PolicySubject } from './policy.ts';
import { expandAlternations, ID_TOKEN_RE, isTopicPattern } from './topics.ts';

/** Largest YAML config text accepted (manifests and providers.yml are small). */
export const MAX_YAML_CONFIG_BYTES = 1 << 20;

export interface YamlConfig {
  /** The document as plain JS values. */
  value: unknown;
  /** ` (line N)` for the node at `path`, or its nearest ancestor that exists; '' when unknown. */
  locate(path: ReadonlyArray<string | number>): string;
}

/**
 * Parses one YAML document for a config loader. Syntax errors, duplicate keys and alias bombs throw
 * {@link PrometheanError} with `code` and a message naming `source` and the line.
 */
export function parseYamlConfig(text: string, code: 'bad_config' | 'bad_manifest', source: string): YamlConfig {
  if (text.length > MAX_YAML_CONFIG_BYTES) throw new PrometheanError(code, `${source}: larger than ${MAX_YAML_CONFIG_BYTES} bytes`);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    const where = ` at line ${pos.line}, column ${pos.col}`;
    throw new PrometheanError(code, `${source}: YAML syntax error${where}: ${first.message.split('\n')[0]}`, { cause: first });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    throw new PrometheanError(code, `${source}: ${(cause as Error).message}`, { cause });
  }
  const locate = (path: ReadonlyArray<string | number>): string => {
    for (let n = path.length; n >= 0; n--) {
      const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      const range = (node as { range?: [number, number, number] | null } | null | undefined)?.range;
      if (range) return ` (line ${lineCounter.linePos(range[0]).line})`;
    }
    return '';
  };
  return { value, locate };
}

export const AGENT_ID_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const SEMVER_RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const TokenOrStar = z.string().refine((v) => v === '*' || ID_TOKEN_RE.test(v), 'must be a [a-z0-9_-] token or *');

const ManifestSchema = z
  .object({
    id: z.string().regex(AGENT_ID_RE, 'must be 1-64 of [a-z0-9_-], starting with a letter or digit'),
    kind: z.enum(['access', 'worker']),
    version: z.string().regex(SEMVER_RE, 'must be a semantic version like 0.1.0'),
    description: z.string().max(500).optional(),
    binds: z
      .object({ provider: TokenOrStar, tenants: z.array(TokenOrStar).min(1).default(['*']) })
      .strict()
      .default({ provider: '*', tenants: ['*'] }),
    inputs: z.array(z.string().min(1).max(255)).max(256).default([]),
    outputs: z.array(z.string().min(1).max(255)).max(256).default([]),
    capabilities: z.array(z.string().min(1).max(512)).max(256).default([]),
    health_interval_s: z.number().min(1).max(3600).default(10),
    durability: z.enum(['stateful', 'stateless']).default('stateful'),
    idempotency_key: z.string().max(256).optional(),
    /** Free-form agent settings; the agent validates its own. */
    config: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type AgentDurability = 'stateful' | 'stateless';

export interface AgentManifest extends PolicySubject {
  id: string;
  kind: 'access' | 'worker';
  version: string;
  description: string | undefined;
  binds: { provider: string; tenants: string[] };
  /** Intent patterns after `(a|b)` expansion. */
  inputs: string[];
  outputs: string[];
  capabilities: Capability[];
  health_interval_s: number;
  durability: AgentDurability;
  idempotency_key: string | undefined;
  config: Record<string, unknown>;
}

const FIELD_PATH_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;
const KEY_LITERAL_RE = /^[A-Za-z0-9_.:/|#@-]*$/;

/**
 * Checks an idempotency key template such as `{session_id}:{segment_id}` and returns its placeholders
 * (dotted payload paths). Throws `bad_manifest` for unbalanced braces, bad or repeated field names,
 * odd literal characters, or no placeholder at all (a constant key would collapse every output).
 */
export function idempotencyPlaceholders(template: string): string[] {
  const bad = (why: string) => new PrometheanError('bad_manifest', `idempotency_key "${template}": ${why}`, { path: 'idempotency_key' });
  const fields: string[] = [];
  let at = 0;
  while (at < template.length) {
    const open = template.indexOf('{', at);
    const literal = open < 0 ? template.slice(at) : template.slice(at, open);
    if (literal.includes('}')) throw bad('"}" without "{"');
    if (!KEY_LITERAL_RE.test(literal)) throw bad(`literal "${literal}" may only use [A-Za-z0-9_.:/|#@-]`);
    if (open < 0) break;
    const close = template.indexOf('}', open);
    if (close < 0) throw bad('"{" without "}"');
    const field = template.slice(open + 1, close);
    if (!FIELD_PATH_RE.test(field)) throw bad(`"{${field}}" is not a payload field path`);
    if (fields.includes(field)) throw bad(`"{${field}}" appears twice`);
    fields.push(field);
    at = close + 1;
  }
  if (fields.length === 0) throw bad('needs at least one {field} placeholder');
  return fields;
}

/** Thrown by {@link renderIdempotencyKey} when the payload lacks a field the template names. */
export class IdempotencyKeyError extends PrometheanError {
  override name = 'IdempotencyKeyError';
  readonly field: string;
  constructor(field: string, message: string) {
    super('schema', message, { path: `payload.${field}` });
    this.field = field;
  }
}

/** Renders `{session_id}:{segment_id}` from a payload. Fields must be non-empty strings, finite numbers, bigints or booleans. */
export function renderIdempotencyKey(template: string, payload: unknown): string {
  const fields = idempotencyPlaceholders(template);
  let out = template;
  for (const field of fields) {
    let value: unknown = payload;
    for (const key of field.split('.')) {
      value = value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, key)
        ? (value as Record<string, unknown>)[key]
        : undefined;
    }
    const ok = (typeof value === 'string' && value.length > 0) || (typeof value === 'number' && Number.isFinite(value))
      || typeof value === 'bigint' || typeof value === 'boolean';
    if (!ok) {
      const what = value === undefined ? 'is missing' : `is ${value === null ? 'null' : typeof value === 'string' ? 'empty' : `a ${typeof value}`}`;
      throw new IdempotencyKeyError(field, `idempotency key "${template}": payload.${field} ${what}`);
    }
    out = out.replace(`{${field}}`, String(value));
  }
  return out;
}

function expandPatterns(list: string[], field: string, ctx: z.RefinementCtx): string[] {
  const out: string[] = [];
  list.forEach((raw, i) => {
    let expanded: string[];
    try {
      expanded = expandAlternations(raw);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: [field, i], message: (error as Error).message });
      return;
    }
    const wrong = expanded.find((p) => !isTopicPattern(p));
    if (wrong !== undefined) ctx.addIssue({ code: 'custom', path: [field, i], message: `"${wrong}" is not an intent pattern` });
    else for (const p of expanded) if (!out.includes(p)) out.push(p);
  });
  return out;
}

function check(raw: z.infer<typeof ManifestSchema>, ctx: z.RefinementCtx): AgentManifest {
  const inputs = expandPatterns(raw.inputs, 'inputs', ctx);
  const outputs = expandPatterns(raw.outputs, 'outputs', ctx);
  if (raw.kind === 'access' && raw.binds.provider === '*') {
    ctx.addIssue({ code: 'custom', path: ['binds', 'provider'], message: 'an access agent binds one concrete provider' });
  }
  const capabilities: Capability[] = [];
  raw.capabilities.forEach((text, i) => {
    let cap: Capability;
    try {
      cap = parseCapability(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['capabilities', i], message: (error as Error).message });
      return;
    }
    if (!kindMayHold(raw.kind, cap)) {
      ctx.addIssue({ code: 'custom', path: ['capabilities', i], message: `"${text}": provider.* capabilities are only for agents of kind access` });
    } else if (cap.kind === 'provider' && raw.binds.provider !== '*' && cap.provider !== raw.binds.provider) {
      ctx.addIssue({ code: 'custom', path: ['capabilities', i], message: `"${text}" is for a provider this agent does not bind (${raw.binds.provider})` });
    }
    capabilities.push(cap);
  });
  if (raw.idempotency_key !== undefined) {
    try {
      idempotencyPlaceholders(raw.idempotency_key);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['idempotency_key'], message: (error as Error).message });
    }
  } else if (raw.durability === 'stateless') {
    ctx.addIssue({ code: 'custom', path: ['idempotency_key'], message: 'a stateless agent needs an idempotency_key such as "{session_id}:{segment_id}"' });
  }
  return { ...raw, inputs, outputs, capabilities, description: raw.description, idempotency_key: raw.idempotency_key };
}

const CheckedManifest = ManifestSchema.transform((raw, ctx) => check(raw, ctx));

/**
 * Validates a decoded manifest object. `locate` may add a source position to messages (the YAML
 * parser passes one). Throws `bad_manifest` naming the first bad field.
 */
export function parseManifest(value: unknown, locate: (path: Array<string | number>) => string = () => ''): AgentManifest {
  const wrapped = value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 1 && 'agent' in value;
  const body = wrapped ? (value as { agent: unknown }).agent : value;
  const result = CheckedManifest.safeParse(body);
  if (result.success) return result.data;
  const { path } = issuesMessage(result.error, wrapped ? 'agent' : '');
  const reason = result.error.issues[0]?.message ?? 'invalid';
  throw new PrometheanError('bad_manifest', `manifest ${path || 'document'}: ${reason}${locate(path ? path.split('.') : [])}`, { path });
}

/** Parses `agent.yml` text. YAML syntax errors throw `bad_manifest` with the line number. */
export function parseManifestYaml(text: string, source = 'agent.yml'): AgentManifest {
  const { value, locate } = parseYamlConfig(text, 'bad_manifest', source);
  try {
    return parseManifest(value, locate);
  } catch (error) {
    if (error instanceof PrometheanError) {
      throw new PrometheanError('bad_manifest', `${source}: ${error.message}`, { path: error.path ?? '', cause: error });
    }
    throw error;
  }
}

/**
 * The bus topic patterns of a manifest's inputs or outputs over its binds:
 * `promethean.p.<provider|*>.t.<tenant|*>.<intent pattern>`, one per (tenant, intent), in order.
 */
export function manifestTopics(manifest: Pick<AgentManifest, 'binds' | 'inputs' | 'outputs'>, which: 'inputs' | 'outputs'): string[] {
  const tenants = manifest.binds.tenants.includes('*') ? ['*'] : manifest.binds.tenants;
  const out: string[] = [];
  for (const tenant of tenants) {
    for (const intent of manifest[which]) out.push(`promethean.p.${manifest.binds.provider}.t.${tenant}.${intent}`);
  }
  return out;
}
