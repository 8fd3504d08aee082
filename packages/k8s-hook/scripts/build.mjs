// Builds dist/index.js: compiles this package and its workspace dependencies with tsc, bundles
// the CommonJS entry with ncc, and checks that the bundle is one self-contained file. Lazy
// `import()`s in the sources carry webpack's "eager" mode, so they stay in the one file;
// @kubernetes/client-node is bundled apart and carried in a block of its own (see below).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlibConstants } from 'node:zlib';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => name; // on PATH when run through pnpm (workspace root node_modules/.bin)
const run = (cmd, args, cwd = pkg) => execFileSync(cmd, args, { cwd, stdio: 'inherit' });

const libs = [join(pkg, 'lib')];
for (const dep of ['vocabulary', 'kube', 'zfs-clone']) {
  const dir = join(pkg, '..', dep);
  if (existsSync(join(dir, 'src', 'index.ts'))) {
    run(bin('tsc'), ['-p', join(dir, 'tsconfig.build.json')]);
    libs.push(join(dir, 'lib'));
  }
}
run(bin('tsc'), ['-p', 'tsconfig.build.json']);

const out = join(pkg, 'dist');
const tmp = join(pkg, 'dist', '.ncc');

/** Bundles `entry` with ncc into one file and returns its code. */
function ncc(entry, dir, extraArgs = []) {
  rmSync(dir, { recursive: true, force: true });
  run(bin('ncc'), ['build', entry, '-o', dir, '--minify', '--no-source-map-register', '--quiet', '--target', 'es2022', ...extraArgs]);
  const files = readdirSync(dir);
  const main = files.find((f) => f === 'index.js' || f === 'index.cjs');
  const extra = files.filter((f) => f !== main);
  if (!main || extra.length > 0) throw new Error(`ncc must emit a single index file for ${entry}, got: ${files.join(', ')}`);
  const code = readFileSync(join(dir, main), 'utf8');
  // A line comment ends at any JavaScript line terminator, so only \n may occur.
  if (/[\r\u2028\u2029]/.test(code)) throw new Error(`the bundle of ${entry} contains a \\r, U+2028 or U+2029 line terminator; the loader cannot carry it`);
  return code;
}

// The hook itself, without @kubernetes/client-node: only a kubeconfig beyond the fast path (an exec
// credential plugin, an auth provider) needs it, and its 4 MB would cost every hook call ~100 ms
// of parsing. It goes into a block of its own, which the loader compiles only when it is required.
const code = ncc('bundle/entry.cjs', tmp, ['-e', '@kubernetes/client-node']);
const clientNode = ncc('bundle/client-node.cjs', `${tmp}-client-node`);
// dist/index.js = bundle/loader.cjs + the hook's code as line comments (compiled by the loader
// with a V8 code cache) + @kubernetes/client-node, compressed, as line comments (compiled on
// first require).
const buildId = createHash('sha256').update(code).update(clientNode).digest('hex').slice(0, 16);
const commented = (text) =>
  text
    .split('\n')
    .map((line) => `//${line}`)
    .join('\n');
// The loader reads only up to the second block: its byte offset goes into the loader, padded to
// a fixed width so that writing it does not move it.
const template = readFileSync(join(pkg, 'bundle', 'loader.cjs'), 'utf8').replaceAll('__BUILD_ID__', buildId);
const first = (loader) => `${loader}\n//# zrh-hook-code\n${commented(code)}`;
const secondAt = Buffer.byteLength(first(template.replace('__SECOND_AT__', '0'.repeat(12))));
const loader = template.replace('__SECOND_AT__', String(secondAt).padStart(12, '0'));
// Compressed: Node reads and V8 scans the whole file on every call, comments included; 1 MB of
// base64 costs far less than 4 MB of code. Only the plugin path decompresses it.
const packed = brotliCompressSync(Buffer.from(clientNode), { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 } }).toString('base64');
const packedLines = packed.match(/.{1,4096}/g) ?? [];
const bundle = `${first(loader)}\n//# zrh-hook-client-node\n${packedLines.map((l) => `//${l}`).join('\n')}\n`;
if (Buffer.from(bundle).indexOf('\n//# zrh-hook-client-node\n') !== secondAt) throw new Error('the second block is not at the offset written into the loader');
writeFileSync(join(out, 'index.js'), bundle);
// The package is ESM; this marks the bundle as CommonJS where it sits (the runner image ships it alone).
writeFileSync(join(out, 'package.json'), '{ "type": "commonjs" }\n');
rmSync(tmp, { recursive: true, force: true });
rmSync(`${tmp}-client-node`, { recursive: true, force: true });
console.log(
  `dist/index.js: ${(statSync(join(out, 'index.js')).size / 1024).toFixed(0)} KiB (hook ${(code.length / 1024).toFixed(0)} KiB, @kubernetes/client-node ${(clientNode.length / 1024).toFixed(0)} KiB, carried as ${(packed.length / 1024).toFixed(0)} KiB)`,
);
