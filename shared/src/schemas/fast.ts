/**
 * A fast path for payload validation: compiles a zod schema into plain closures that accept only
 * values the schema itself accepts and return the same output (a fresh copy, keys in schema order,
 * defaults filled). Anything the compiled check is not sure about returns {@link UNSURE}, and the
 * caller asks zod, which also words the error. Schemas using a feature outside the supported subset
 * (records, pipes, transforms, non-regex string formats, object-valued defaults, …) compile to
 * `undefined`: zod handles them as before.
 *
 * The subset: string (min/max/exact length, regex), number (bounds, safe-integer), boolean,
 * literal, enum, unions of literals/enums, unknown/any, optional, nullable, primitive defaults,
 * strip objects and arrays, and `.refine()` predicates on any of them.
 */
import type { z } from 'zod';

export const UNSURE: unique symbol = Symbol('unsure');
export type FastParse = (value: unknown) => unknown;

/** The parts of zod's internal definition this compiler reads. */
interface Def {
  type: string;
  checks?: { _zod: { def: CheckDef } }[];
  coerce?: boolean;
  format?: string;
  shape?: Record<string, Schema>;
  catchall?: unknown;
  element?: Schema;
  innerType?: Schema;
  options?: Schema[];
  defaultValue?: unknown;
}
interface CheckDef {
  check: string;
  type?: string;
  when?: unknown;
  minimum?: number;
  maximum?: number;
  length?: number;
  value?: unknown;
  inclusive?: boolean;
  format?: string;
  pattern?: RegExp;
  fn?: (value: unknown) => unknown;
}
interface Schema {
  _zod: { def: Def; values?: Set<unknown>; optin?: string };
}

/** Code points of a string, as zod counts them for length checks (a surrogate pair is one). */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n--;
      i++;
    }
  }
  return n;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

type Test = (value: unknown) => boolean;

/** One check as a predicate on the parsed value; undefined when the check kind is unsupported. */
function checkTest(c: CheckDef, kind: string): Test | undefined {
  if (c.when !== undefined && c.check !== 'min_length' && c.check !== 'max_length' && c.check !== 'length_equals') return undefined;
  switch (c.check) {
    case 'min_length': {
      const min = c.minimum!;
      if (kind === 'string') return (v) => (v as string).length >= 2 * min || ((v as string).length >= min && codePoints(v as string) >= min);
      return (v) => (v as unknown[]).length >= min;
    }
    case 'max_length': {
      const max = c.maximum!;
      if (kind === 'string') return (v) => (v as string).length <= max || codePoints(v as string) <= max;
      return (v) => (v as unknown[]).length <= max;
    }
    case 'length_equals': {
      const len = c.length!;
      if (kind === 'string') return (v) => codePoints(v as string) === len;
      return (v) => (v as unknown[]).length === len;
    }
    case 'string_format':
      if (c.format !== 'regex' || !(c.pattern instanceof RegExp) || c.pattern.global || c.pattern.sticky) return undefined;
      return (v) => c.pattern!.test(v as string);
    case 'greater_than': {
      if (typeof c.value !== 'number') return undefined;
      const bound = c.value;
      return c.inclusive ? (v) => (v as number) >= bound : (v) => (v as number) > bound;
    }
    case 'less_than': {
      if (typeof c.value !== 'number') return undefined;
      const bound = c.value;
      return c.inclusive ? (v) => (v as number) <= bound : (v) => (v as number) < bound;
    }
    case 'number_format':
      return c.format === 'safeint' ? (v) => Number.isSafeInteger(v) : undefined;
    case 'custom':
      // `.refine(fn)`: passes when fn returns a truthy non-promise (zod awaits a promise; we do not).
      if (c.type !== 'custom' || typeof c.fn !== 'function') return undefined;
      return (v) => {
        const r = c.fn!(v);
        return Boolean(r) && !(r instanceof Promise);
      };
    default:
      return undefined;
  }
}

function withChecks(schema: Schema, kind: string, parse: FastParse): FastParse | undefined {
  const tests: Test[] = [];
  for (const c of schema._zod.def.checks ?? []) {
    const t = checkTest(c._zod.def, kind);
    if (!t) return undefined;
    tests.push(t);
  }
  if (tests.length === 0) return parse;
  return (value) => {
    const out = parse(value);
    if (out === UNSURE) return UNSURE;
    for (const t of tests) if (!t(out)) return UNSURE;
    return out;
  };
}

/** Literal values accepted by a literal, enum or union of them; undefined otherwise. */
function literalValues(schema: Schema): Set<unknown> | undefined {
  const def = schema._zod.def;
  if ((def.type === 'literal' || def.type === 'enum') && !def.checks?.length) return schema._zod.values;
  if (def.type === 'union' && !def.checks?.length) {
    const all = new Set<unknown>();
    for (const o of def.options ?? []) {
      const v = literalValues(o);
      if (!v) return undefined;
      for (const x of v) all.add(x);
    }
    return all;
  }
  return undefined;
}

const isPrimitive = (v: unknown): boolean => v === null || (typeof v !== 'object' && typeof v !== 'function');

interface Field {
  key: string;
  parse: FastParse;
  /** What an absent key becomes: nothing (`required` → UNSURE, `skip`), or a default value. */
  absent: 'required' | 'skip' | { value: unknown };
}

function compileObject(def: Def): FastParse | undefined {
  if (def.catchall !== undefined || !def.shape) return undefined;
  const fields: Field[] = [];
  for (const key of Object.keys(def.shape)) {
    if (key === '__proto__') return undefined;
    let s = def.shape[key]!;
    let absent: Field['absent'] = 'required';
    const t = s._zod.def.type;
    // Checks on the optional/default wrapper itself are outside the subset.
    if ((t === 'optional' || t === 'default') && s._zod.def.checks?.length) return undefined;
    const inner = s._zod.def.innerType;
    if (t === 'optional' && inner && inner._zod.optin === undefined) {
      absent = 'skip';
      s = inner;
    } else if (t === 'default') {
      const dv = s._zod.def.defaultValue;
      if (!isPrimitive(dv)) return undefined;
      absent = { value: dv };
      s = s._zod.def.innerType!;
    }
    const parse = compile(s);
    if (!parse) return undefined;
    fields.push({ key, parse, absent });
  }
  return (value) => {
    if (!isObject(value)) return UNSURE;
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      const v = value[f.key];
      if (v === undefined) {
        if (f.key in value || f.absent === 'required') return UNSURE;
        if (f.absent !== 'skip') out[f.key] = f.absent.value;
        continue;
      }
      const r = f.parse(v);
      if (r === UNSURE) return UNSURE;
      out[f.key] = r;
    }
    return out;
  };
}

/** Compiles `schema`; undefined when it uses anything outside the supported subset. */
export function compileFastParse(schema: z.ZodType): FastParse | undefined {
  return compile(schema as unknown as Schema);
}

function compile(schema: Schema): FastParse | undefined {
  const def = schema._zod.def;
  if (def.coerce) return undefined;
  const values = literalValues(schema);
  if (values) return (v) => (values.has(v) ? v : UNSURE);
  switch (def.type) {
    case 'string':
      if (def.format !== undefined) return undefined;
      return withChecks(schema, 'string', (v) => (typeof v === 'string' ? v : UNSURE));
    case 'number':
      if (def.format !== undefined && def.format !== 'safeint') return undefined;
      return withChecks(schema, 'number', (v) =>
        typeof v === 'number' && Number.isFinite(v) && (def.format !== 'safeint' || Number.isSafeInteger(v)) ? v : UNSURE,
      );
    case 'boolean':
      return withChecks(schema, 'boolean', (v) => (typeof v === 'boolean' ? v : UNSURE));
    case 'unknown':
    case 'any':
      return def.checks?.length ? undefined : (v) => (v === undefined ? UNSURE : v);
    case 'nullable': {
      const inner = compile(def.innerType!);
      if (!inner || def.checks?.length) return undefined;
      return (v) => (v === null ? null : inner(v));
    }
    case 'object': {
      const parse = compileObject(def);
      return parse && withChecks(schema, 'object', parse);
    }
    case 'array': {
      const element = compile(def.element!);
      if (!element) return undefined;
      return withChecks(schema, 'array', (v) => {
        if (!Array.isArray(v)) return UNSURE;
        const out = new Array<unknown>(v.length);
        for (let i = 0; i < v.length; i++) {
          const r = element(v[i]);
          if (r === UNSURE) return UNSURE;
          out[i] = r;
        }
        return out;
      });
    }
    default:
      return undefined;
  }
}
