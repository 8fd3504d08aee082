'use strict';
// zfs-runner-hooks Kubernetes container hook, build __BUILD_ID__.
// The hook's code is the first commented-out block after this loader; @kubernetes/client-node
// is the second, compiled only when the hook requires it. This loader compiles it
// with a V8 code cache kept in a private folder (default <tmpdir>/zrh-hook-<uid>, or
// ZRH_CODE_CACHE_DIR; `off` disables it), so the hook processes of a job after the first skip
// most compilation. A missing, foreign or rejected cache only costs time: the code then compiles
// as usual and the cache is written again. See docs/decisions/0014-startup-time.md.
const fs = require('fs');
const path = require('path');
const vm = require('vm');

const BUILD_ID = '__BUILD_ID__';
const MARKER = '\n//# zrh-hook' + '-code\n';

/** The cache file of this build on this Node, or undefined when there is no private folder for it. */
function cacheFile() {
  const setting = process.env.ZRH_CODE_CACHE_DIR;
  if (setting === 'off' || typeof process.getuid !== 'function') return undefined;
  const uid = process.getuid();
  const dir = setting || path.join(require('os').tmpdir(), `zrh-hook-${uid}`);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if (err.code !== 'EEXIST') return undefined;
  }
  try {
    // Only a real folder of this user that nobody else can write to: code from it runs as the hook.
    const st = fs.lstatSync(dir);
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) return undefined;
  } catch {
    return undefined;
  }
  return path.join(dir, `${BUILD_ID}-${process.version}-${process.arch}.v8cache`);
}

const SECOND_MARKER = '\n//# zrh-hook' + '-client-node\n';
/** The code of a commented block, from its `//` lines. */
const uncomment = (block) =>
  block
    .split('\n')
    .map((line) => line.slice(2))
    .join('\n');
// Where the second block starts (bytes; written by the build, zero-padded to keep this loader's
// length): only what comes before it is read on every call.
const SECOND_AT = Number('__SECOND_AT__');
const fd = fs.openSync(__filename, 'r');
const head = Buffer.allocUnsafe(SECOND_AT > 0 ? SECOND_AT : fs.fstatSync(fd).size);
let got = 0;
while (got < head.length) {
  const n = fs.readSync(fd, head, got, head.length - got, got);
  if (n === 0) break;
  got += n;
}
fs.closeSync(fd);
const second = SECOND_AT > 0 ? SECOND_AT : -1;
const text = head.toString('utf8', 0, got);
const at = text.indexOf(MARKER);
const source = uncomment(text.slice(at + MARKER.length));

/**
 * @kubernetes/client-node, decompressed and compiled from the second block on its first require:
 * only a kubeconfig beyond the fast path needs it, so the other hook calls never parse its 4 MB.
 */
let clientNode;
function requireClientNode() {
  if (clientNode) return clientNode.exports;
  if (second === -1) throw new Error('this hook bundle carries no @kubernetes/client-node');
  const all = fs.readFileSync(__filename);
  if (all.indexOf(SECOND_MARKER) !== second) throw new Error(`${__filename} is damaged: its @kubernetes/client-node block is not where the loader expects it`);
  const packed = Buffer.from(uncomment(all.toString('latin1', second + SECOND_MARKER.length)).replace(/\n/g, ''), 'base64');
  const code = require('zlib').brotliDecompressSync(packed).toString('utf8');
  const mod = { exports: {} };
  const fn = new vm.Script(`(function (exports, require, module, __filename, __dirname) { ${code}\n})`, { filename: `${__filename} (@kubernetes/client-node)` }).runInThisContext();
  clientNode = mod;
  fn.call(mod.exports, mod.exports, require, mod, __filename, __dirname);
  return mod.exports;
}
const hookRequire = Object.assign((id) => (id === '@kubernetes/client-node' ? requireClientNode() : require(id)), require);
const file = cacheFile();
let cachedData;
if (file) {
  try {
    cachedData = fs.readFileSync(file);
  } catch {
    cachedData = undefined;
  }
}
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n})`, {
  filename: __filename,
  lineOffset: text.slice(0, at + MARKER.length).split('\n').length - 1,
  cachedData,
});
if (file && (cachedData === undefined || script.cachedDataRejected)) {
  // Written at exit, when it also holds the functions this run compiled.
  process.once('exit', () => {
    const tmp = `${file}.${process.pid}`;
    try {
      fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      fs.renameSync(tmp, file);
      // Caches of other builds or Node versions are dead weight once this one exists.
      const dir = path.dirname(file);
      for (const name of fs.readdirSync(dir)) {
        if (name.endsWith('.v8cache') && name !== path.basename(file)) fs.rmSync(path.join(dir, name), { force: true });
      }
    } catch {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        // nothing to tidy
      }
    }
  });
}
script.runInThisContext().call(module.exports, module.exports, hookRequire, module, __filename, __dirname);
