#!/usr/bin/env node
// The `promethean` command. Runs the TypeScript sources directly through tsx; no build step.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(`promethean needs Node.js >= 22.12 (this is ${process.version}). Install Node 24 LTS and run again.`);
  process.exit(1);
}
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../server/src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
