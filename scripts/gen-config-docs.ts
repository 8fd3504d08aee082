// Regenerates the configuration references from their schemas:
//   docs/hook-configuration.md (packages/k8s-hook/src/config.ts)
//   docs/configuration.md      (packages/zfs-clone/src/config)
// Run: pnpm run docs:config
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderHookConfigurationReference } from '../packages/k8s-hook/src/config-reference.js';
import { renderConfigurationReference } from '../packages/zfs-clone/src/config/reference.js';

const docs = (name: string) => fileURLToPath(new URL(`../docs/${name}`, import.meta.url));
writeFileSync(docs('hook-configuration.md'), renderHookConfigurationReference());
writeFileSync(docs('configuration.md'), renderConfigurationReference());
console.log('wrote docs/hook-configuration.md and docs/configuration.md');
