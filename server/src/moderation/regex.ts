/**
 * Regular-expression rules, protected against catastrophic backtracking in two layers.
 *
 * 1. Restricted syntax, checked when a rule is written (config or HTTP), with a message naming what
 *    is refused. JavaScript's engine backtracks; the patterns that make it exponential are nested
 *    quantifiers (`(a+)+`, `(\w*\s?)*`), quantified alternations (`(a|aa)*`) and backreferences. So:
 *    no backreferences, no lookaround, no quantifier on a group that contains a quantifier or an
 *    alternation (star height 1, alternation only outside repetition), counted repeats up to
 *    {@link MAX_REPEAT}, patterns up to {@link MAX_PATTERN_LENGTH} characters. A linear-time engine
 *    (the `re2` native addon) would lift these limits; it is not installed in this project.
 * 2. A time bound on every evaluation: what the syntax still allows can be polynomial (`\w*\w*\w*x`
 *    over a long text), so the rules of a transcript run inside `vm` with a timeout, which interrupts
 *    a running match. A batch that times out is run again rule by rule to find the slow one; a rule
 *    that times out alone gets a strike, and after {@link RegexRunnerOptions.maxStrikes} it is
 *    quarantined (no longer evaluated, counted, shown in the rule list).
 *
 * The flags are fixed: `i` (case-insensitive) and `u` (Unicode). The pattern runs on the transcript
 * as spoken (not folded), so offsets are exact.
 */
import { Script, createContext, type Context } from 'node:vm';
import { ModerationRuleError } from './errors.ts';

export const MAX_PATTERN_LENGTH = 200;
/** Largest count in `{n}`, `{n,}` and `{n,m}`. */
export const MAX_REPEAT = 100;

interface Frame {
  quantified: boolean;
  alternation: boolean;
}

type Atom = { kind: 'none' } | { kind: 'atom' } | { kind: 'group'; quantified: boolean; alternation: boolean } | { kind: 'quantified' };

const ESCAPE_ATOMS = new Set(['d', 'D', 'w', 'W', 's', 'S', 'n', 'r', 't', 'f', 'v']);

/** Throws ModerationRuleError when the pattern is outside the allowed syntax; returns the compiled RegExp otherwise. */
export function compileRegex(pattern: string, path = 'pattern'): RegExp {
  const refuse = (why: string): never => {
    throw new ModerationRuleError(`${path}: ${why}`, { path });
  };
  if (typeof pattern !== 'string' || pattern.length === 0) refuse('a regular expression must not be empty');
  if (pattern.length > MAX_PATTERN_LENGTH) refuse(`a regular expression may have at most ${MAX_PATTERN_LENGTH} characters`);
  const stack: Frame[] = [{ quantified: false, alternation: false }];
  let last: Atom = { kind: 'none' };
  let i = 0;
  const top = () => stack[stack.length - 1]!;
  const quantify = (at: number) => {
    if (last.kind === 'none') refuse(`nothing to repeat at ${at}`);
    if (last.kind === 'quantified') refuse(`a quantifier may not follow another at ${at}`);
    if (last.kind === 'group' && (last.quantified || last.alternation)) {
      refuse(`a repeated group may not contain a quantifier or an alternation (at ${at}): such patterns can backtrack catastrophically`);
    }
    top().quantified = true;
    last = { kind: 'quantified' };
    if (pattern[i] === '?') i++; // lazy
  };
  while (i < pattern.length) {
    const c = pattern[i]!;
    const at = i;
    i++;
    switch (c) {
      case '\\': {
        const e = pattern[i];
        if (e === undefined) refuse('the pattern ends with a lone backslash');
        i++;
        if (/[1-9]/.test(e!) || e === 'k') refuse(`backreferences are not allowed (at ${at})`);
        if (e === 'b' || e === 'B') last = { kind: 'none' };
        else if (ESCAPE_ATOMS.has(e!)) last = { kind: 'atom' };
        else if (e === 'p' || e === 'P') {
          const close = pattern.indexOf('}', i);
          if (pattern[i] !== '{' || close < 0) refuse(`\\${e} needs a {Property} (at ${at})`);
          i = close + 1;
          last = { kind: 'atom' };
        } else if (e === 'u' || e === 'x') {
          const hex = e === 'x' ? /^[0-9a-fA-F]{2}/ : /^(?:[0-9a-fA-F]{4}|\{[0-9a-fA-F]{1,6}\})/;
          const m = hex.exec(pattern.slice(i));
          if (!m) refuse(`bad \\${e} escape at ${at}`);
          i += m![0].length;
          last = { kind: 'atom' };
        } else if (/[A-Za-z0-9]/.test(e!)) refuse(`unknown escape \\${e} at ${at}`);
        else last = { kind: 'atom' };
        break;
      }
      case '[': {
        if (pattern[i] === '^') i++;
        let closed = false;
        while (i < pattern.length) {
          const d = pattern[i]!;
          i++;
          if (d === '\\') {
            const e = pattern[i];
            if (e !== undefined && (/[1-9]/.test(e) || e === 'k')) refuse(`backreferences are not allowed (at ${i - 1})`);
            i++;
          } else if (d === '[') refuse(`nested character classes are not allowed (at ${i - 1})`);
          else if (d === ']') {
            closed = true;
            break;
          }
        }
        if (!closed) refuse(`unclosed character class at ${at}`);
        last = { kind: 'atom' };
        break;
      }
      case '(': {
        if (pattern[i] === '?') {
          const rest = pattern.slice(i + 1);
          if (rest.startsWith(':')) i += 2;
          else if (rest.startsWith('<') && !rest.startsWith('<=') && !rest.startsWith('<!')) {
            const m = /^<[A-Za-z_][A-Za-z0-9_]{0,31}>/.exec(rest);
            if (!m) refuse(`bad group name at ${at}`);
            i += 1 + m![0].length;
          } else refuse(`lookaround and other (? groups are not allowed (at ${at})`);
        }
        if (stack.length > 16) refuse('groups may nest at most 16 deep');
        stack.push({ quantified: false, alternation: false });
        last = { kind: 'none' };
        break;
      }
      case ')': {
        if (stack.length === 1) refuse(`unbalanced ) at ${at}`);
        const f = stack.pop()!;
        // What a group holds counts for every group around it.
        if (f.quantified) top().quantified = true;
        if (f.alternation) top().alternation = true;
        last = { kind: 'group', quantified: f.quantified, alternation: f.alternation };
        break;
      }
      case '|':
        top().alternation = true;
        last = { kind: 'none' };
        break;
      case '*':
      case '+':
      case '?':
        quantify(at);
        break;
      case '{': {
        const m = /^(\d{1,3})(,(\d{0,3}))?\}/.exec(pattern.slice(i));
        if (!m) refuse(`a { must start a counted repeat such as {2,5} (at ${at}); write \\{ for the character`);
        const lo = Number(m![1]);
        const hi = m![3] === undefined ? lo : m![3] === '' ? undefined : Number(m![3]);
        if (lo > MAX_REPEAT || (hi !== undefined && (hi > MAX_REPEAT || hi < lo))) refuse(`counted repeats must lie within 0..${MAX_REPEAT} with min ≤ max (at ${at})`);
        i += m![0].length;
        quantify(at);
        break;
      }
      case '^':
      case '$':
        last = { kind: 'none' };
        break;
      default:
        last = { kind: 'atom' };
    }
  }
  if (stack.length !== 1) refuse('unbalanced (');
  try {
    return new RegExp(pattern, 'iu');
  } catch (cause) {
    throw new ModerationRuleError(`${path}: ${(cause as Error).message}`, { path, cause });
  }
}

export interface RegexRunnerOptions {
  /** Wall-clock budget of one evaluation (a batch of rules over one transcript), ms. */
  budgetMs: number;
  /** Timeouts alone after which a rule is quarantined. */
  maxStrikes: number;
}

export const defaultRegexRunnerOptions: RegexRunnerOptions = { budgetMs: 250, maxStrikes: 3 };

export interface RegexRunnerCounters {
  /** Batches that ran past the budget (then run rule by rule). */
  batchTimeouts: number;
  /** Single rules that ran past the budget. */
  ruleTimeouts: number;
  /** Rules quarantined. */
  quarantined: number;
}

/** One rule as the runner sees it: a key (for strikes) and its compiled pattern. */
export interface RegexEntry {
  key: string;
  re: RegExp;
}

/** `[index, length]` of the first match, or null; `'timeout'` when that rule alone ran past the budget; `'quarantined'` when skipped. */
export type RegexOutcome = readonly [number, number] | null | 'timeout' | 'quarantined';

const BATCH = new Script('(() => { const out = []; for (const re of entries) { re.lastIndex = 0; const m = re.exec(text); out.push(m ? [m.index, m[0].length] : null); } return out; })()');

/** Runs compiled patterns over texts inside a time bound (see the file comment). */
export class RegexRunner {
  readonly options: RegexRunnerOptions;
  readonly counters: RegexRunnerCounters = { batchTimeouts: 0, ruleTimeouts: 0, quarantined: 0 };
  readonly #context: Context;
  /** key → timeouts alone; bounded: cleared when it grows past 10,000 keys. */
  readonly #strikes = new Map<string, number>();

  constructor(options: Partial<RegexRunnerOptions> = {}) {
    this.options = { ...defaultRegexRunnerOptions, ...options };
    this.#context = createContext({ entries: [] as RegExp[], text: '' });
  }

  isQuarantined(key: string): boolean {
    return (this.#strikes.get(key) ?? 0) >= this.options.maxStrikes;
  }

  /** One outcome per entry, in order. */
  run(entries: readonly RegexEntry[], text: string): RegexOutcome[] {
    const live = entries.map((e, i) => ({ e, i })).filter(({ e }) => !this.isQuarantined(e.key));
    const out: RegexOutcome[] = entries.map(() => 'quarantined');
    if (live.length === 0) return out;
    const batch = this.#exec(live.map(({ e }) => e.re), text);
    if (batch !== 'timeout') {
      live.forEach(({ i }, k) => (out[i] = batch[k] ?? null));
      return out;
    }
    this.counters.batchTimeouts++;
    for (const { e, i } of live) {
      const one = this.#exec([e.re], text);
      if (one !== 'timeout') {
        out[i] = one[0] ?? null;
        continue;
      }
      this.counters.ruleTimeouts++;
      out[i] = 'timeout';
      if (this.#strikes.size >= 10_000) this.#strikes.clear();
      const strikes = (this.#strikes.get(e.key) ?? 0) + 1;
      this.#strikes.set(e.key, strikes);
      if (strikes === this.options.maxStrikes) this.counters.quarantined++;
    }
    return out;
  }

  /** Lifts a quarantine (the rule was rewritten). */
  forgive(key: string): void {
    this.#strikes.delete(key);
  }

  #exec(res: readonly RegExp[], text: string): (readonly [number, number] | null)[] | 'timeout' {
    this.#context.entries = res;
    this.#context.text = text;
    try {
      const r = BATCH.runInContext(this.#context, { timeout: this.options.budgetMs }) as ([number, number] | null)[];
      return Array.from(r, (x) => (x ? ([x[0], x[1]] as const) : null));
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return 'timeout';
      throw error;
    } finally {
      this.#context.entries = [];
      this.#context.text = '';
    }
  }
}
