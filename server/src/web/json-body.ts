/** The JSON body of a request, checked with a zod schema: a `schema` error naming the bad field otherwise. */
import type { Context } from 'hono';
import type { z } from 'zod';
import { PrometheanError } from '@promethean/shared';

export async function jsonBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.output<T>> {
  const raw: unknown = await c.req.json().catch(() => {
    throw new PrometheanError('schema', 'the body must be JSON');
  });
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new PrometheanError('schema', `${issue.path.join('.') || 'body'}: ${issue.message}`, { path: issue.path.join('.') });
  }
  return r.data;
}
