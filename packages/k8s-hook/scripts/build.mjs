// Builds dist/index.js: compiles this package and its workspace dependencies with tsc, bundles
// the CommonJS entry with ncc, and checks that the bundle is one self-contained file. Lazy
// `import()`s in the sources carry webpack's "eager" mode, so they stay in the one file.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => name; // on PATH when run through pnpm (workspace root node_modules/.bin)
const run = (cmd, args, cwd = pkg) => execFileSync(cmd, args, { cwd, stdio: 'inherit' });

const libs = [join(pkg, 'lib')];
for (const dep of ['kube', 'zfs-clone']) {
  const dir = join(pkg, '..', dep);
  if (existsSync(join(dir, 'src', 'index.ts'))) {
    run(bin('tsc'), ['-p', join(dir, 'tsconfig.build.json')]);
    libs.push(join(dir, 'lib'));
  }
}
run(bin('tsc'), ['-p', 'tsconfig.build.json']);

const out = join(pkg, 'dist');
const tmp = join(pkg, 'dist', '.ncc');
rmSync(tmp, { recursive: true, force: true });
run(bin('ncc'), ['build', 'bundle/entry.cjs', '-o', tmp, '--minify', '--no-source-map-register', '--quiet', '--target', 'es2022']);
const files = readdirSync(tmp);
const main = files.find((f) => f === 'index.js' || f === 'index.cjs');
const extra = files.filter((f) => f !== main);
if (!main || extra.length > 0) {
  throw new Error(`ncc must emit a single index file, got: ${files.join(', ')}`);
}
// dist/index.js = bundle/loader.cjs + the bundle as line comments (compiled by the loader with a
// V8 code cache). A line comment ends at any JavaScript line terminator, so only \n may occur.
const code = readFileSync(join(tmp, main), 'utf8');
if (/[\r\u2028\u2029]/.test(code)) throw new Error('the bundle contains a \\r, U+2028 or U+2029 line terminator; the loader cannot carry it');
const buildId = createHash('sha256').update(code).digest('hex').slice(0, 16);
const loader = readFileSync(join(pkg, 'bundle', 'loader.cjs'), 'utf8').replaceAll('__BUILD_ID__', buildId);
const commented = code.split('\n').map((line) => `//${line}`).join('\n');
writeFileSync(join(out, 'index.js'), `${loader}\n//# zrh-hook-code\n${commented}\n`);
// The package is ESM; this marks the bundle as CommonJS where it sits (the runner image ships it alone).
writeFileSync(join(out, 'package.json'), '{ "type": "commonjs" }\n');
rmSync(tmp, { recursive: true, force: true });
console.log(`dist/index.js: ${(statSync(join(out, 'index.js')).size / 1024).toFixed(0)} KiB`);
