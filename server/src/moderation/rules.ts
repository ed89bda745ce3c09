/**
 * The rule model: a watch rule is an exact phrase, a regular expression, or a text whose meaning a
 * transcript must come close to (cosine similarity of their embeddings at or above a threshold). One
 * zod schema checks a rule wherever it comes from (the config file, an HTTP body); compiling it checks
 * what a schema cannot (the phrase has words, the regular expression is in the allowed syntax).
 */
import { z } from 'zod';
import { ModerationRuleError } from './errors.ts';
import { compilePhrase, type Phrase } from './phrase.ts';
import { compileRegex } from './regex.ts';

export const RULE_ID_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A rule as written (config file entry or HTTP body). */
export const RuleDefinitionSchema = z
  .strictObject({
    id: z.string().regex(RULE_ID_RE, 'must be 1-64 of [a-z0-9_-], starting with a letter or digit'),
    kind: z.enum(['phrase', 'regex', 'semantic']),
    label: z.string().min(1).max(200).optional(),
    /** The phrase, the regular expression, or (semantic) the text to compare against. */
    pattern: z.string().min(1).max(2000),
    /** Semantic rules: cosine similarity at or above which a transcript matches (0 < t ≤ 1). */
    threshold: z.number().gt(0).max(1).optional(),
    enabled: z.boolean().default(true),
  })
  .refine((r) => (r.kind === 'semantic') === (r.threshold !== undefined), { message: 'a threshold is required for semantic rules and only for them', path: ['threshold'] });
export type RuleDefinition = z.output<typeof RuleDefinitionSchema>;
export type RuleDefinitionInput = z.input<typeof RuleDefinitionSchema>;

/** Longest text of a semantic rule. */
export const MAX_SEMANTIC_TEXT = 1000;

/** Where a rule came from: the config file (read-only over HTTP) or the store (edited by owners). */
export type RuleSource = 'config' | 'store';

export interface CompiledRule {
  provider: string;
  tenant: string;
  guild_id: string;
  source: RuleSource;
  def: RuleDefinition;
  /** `provider/tenant/guild/rule_id`: what quarantines and caches key on. */
  key: string;
  phrase?: Phrase;
  regex?: RegExp;
}

/** Checks a rule beyond its schema and compiles it; ModerationRuleError naming the field otherwise. */
export function compileRule(scope: { provider: string; tenant: string; guild_id: string }, def: RuleDefinition, source: RuleSource, path = 'rule'): CompiledRule {
  const base: CompiledRule = { ...scope, source, def, key: `${scope.provider}/${scope.tenant}/${scope.guild_id}/${def.id}` };
  switch (def.kind) {
    case 'phrase':
      return { ...base, phrase: compilePhrase(def.pattern, `${path}.pattern`) };
    case 'regex':
      return { ...base, regex: compileRegex(def.pattern, `${path}.pattern`) };
    case 'semantic':
      if (def.pattern.trim().length === 0 || def.pattern.length > MAX_SEMANTIC_TEXT) {
        throw new ModerationRuleError(`${path}.pattern: a semantic rule's text must have 1 to ${MAX_SEMANTIC_TEXT} characters`, { path: `${path}.pattern` });
      }
      return base;
  }
}

/** Parses an HTTP body or config entry into a definition; ModerationRuleError naming the field otherwise. */
export function parseRuleDefinition(value: unknown, path = 'rule'): RuleDefinition {
  const r = RuleDefinitionSchema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = [path, ...issue.path.map(String)].join('.');
  throw new ModerationRuleError(`${where}: ${issue.message}`, { path: where, cause: r.error });
}
