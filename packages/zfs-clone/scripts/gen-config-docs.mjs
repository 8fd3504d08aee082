#!/usr/bin/env node
// Writes docs/configuration.md from the settings and their documentation (packages/zfs-clone/src/config).
// Usage: node packages/zfs-clone/scripts/gen-config-docs.mjs [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runnerImport } from 'vite';

const source = fileURLToPath(new URL('../src/config/reference.ts', import.meta.url));
const target = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));

const { module } = await runnerImport(source, { configFile: false, resolve: { conditions: ['source'] } });
const text = module.renderConfigurationReference();
if (process.argv.includes('--check')) {
  const current = readFileSync(target, 'utf8');
  if (current !== text) {
    console.error(`${target} is stale; run node packages/zfs-clone/scripts/gen-config-docs.mjs`);
    process.exitCode = 1;
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
