import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { findViolations } from '../scripts/ci-guard.mjs';

const dirs: string[] = [];
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'guard-'));
  dirs.push(root);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('ci-guard', () => {
  it('flags a token name in a worker and a provider helper import outside access agents', () => {
    const root = tree({
      'server/src/workers/stt/main.ts': 'const t = process.env.DISCORD_BOT_TOKEN;\n',
      'web/src/app.ts': "import { decrypt } from '@promethean/shared/providers/discord';\n",
      'server/src/workers/x.ts': "import { rtp } from '../../../shared/src/providers/discord/rtp.ts';\n",
    });
    const problems: string[] = findViolations(root);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toContain('server/src/workers/stt/main.ts:1');
  });

  it('allows both inside the access agents, docs and providers.yml', () => {
    const root = tree({
      'bridge/src/main.ts': "const t = process.env.DISCORD_TOKEN;\nimport { x } from '@promethean/shared/providers/discord';\n",
      'server/src/access/gateway.ts': 'DISCORD_BOT_TOKEN\n',
      'providers.yml': 'token: ${DISCORD_BOT_TOKEN}\n',
      'docs/config.md': 'Set DISCORD_BOT_TOKEN\n',
    });
    expect(findViolations(root)).toEqual([]);
  });

  it('flags runtime code that imports the stand-in, and allows tests beside it', () => {
    const root = tree({
      'server/src/app.ts': "import { startStandin } from '@promethean/standin';\n",
      'bridge/src/main.ts': "const m = await import('../../test/standin/src/standin.ts');\n",
      'server/src/cli/x.test.ts': "import { startStandin } from '@promethean/standin';\n",
      'test/e2e/a.test.ts': "import { startStandin } from '@promethean/standin';\n",
    });
    const problems: string[] = findViolations(root);
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).toContain('server/src/app.ts:1: runtime code imports the Discord stand-in');
    expect(problems.join('\n')).toContain('bridge/src/main.ts:1');
  });
});
