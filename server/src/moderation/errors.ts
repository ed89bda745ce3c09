/** Errors of the moderation area. */
import { PrometheanError } from '@promethean/shared';

/** A watch rule that cannot be accepted (bad phrase, refused regular expression, bad threshold). `path` names the field. */
export class ModerationRuleError extends PrometheanError {
  override name = 'ModerationRuleError';
  constructor(message: string, options: { path?: string; cause?: unknown } = {}) {
    super('schema', message, options);
  }
}
