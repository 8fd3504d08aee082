// Builds dist/zfs-clone.cjs, the operator CLI as one file: compiles this package, the vocabulary
// and the kube client with tsc, bundles the CommonJS entry with ncc, checks that the bundle is one
// self-contained file, and makes it executable with a `node` shebang. Lazy `import()`s in the
// sources carry webpack's "eager" mode, so they stay in the one file.
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: pkg, stdio: 'inherit' });

run('tsc', ['-p', join(pkg, '..', 'vocabulary', 'tsconfig.build.json')]);
run('tsc', ['-p', join(pkg, '..', 'kube', 'tsconfig.build.json')]);
run('tsc', ['-p', 'tsconfig.build.json']);

const out = join(pkg, 'dist');
const tmp = join(out, '.ncc');
rmSync(tmp, { recursive: true, force: true });
run('ncc', ['build', 'bundle/entry.cjs', '-o', tmp, '--minify', '--no-source-map-register', '--quiet', '--target', 'es2022']);
const files = readdirSync(tmp);
const main = files.find((f) => f === 'index.js' || f === 'index.cjs');
const extra = files.filter((f) => f !== main);
if (!main || extra.length > 0) throw new Error(`ncc must emit a single index file, got: ${files.join(', ')}`);
const code = readFileSync(join(tmp, main), 'utf8').replace(/^#!.*\n/, '');
const file = join(out, 'zfs-clone.cjs');
writeFileSync(file, `#!/usr/bin/env node\n${code}`);
chmodSync(file, 0o755);
rmSync(tmp, { recursive: true, force: true });
console.log(`dist/zfs-clone.cjs: ${(statSync(file).size / 1024).toFixed(0)} KiB`);
