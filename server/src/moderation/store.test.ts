/** Moderation rules and flags on PGlite (migrated, cloned from a template per test). */
import { afterAll, beforeAll } from 'vitest';
import { pgliteTemplate, type PgliteTemplate } from '../store/testing.ts';
import { runModerationStoreSuite } from './store.suite.ts';

let template: PgliteTemplate;
beforeAll(async () => {
  template = await pgliteTemplate();
});
afterAll(() => template?.close());

runModerationStoreSuite('pglite', () => template.fresh());
