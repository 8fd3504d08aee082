import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_HOOK_PATH } from '../../simulator/runner.js';

// The bundle's loader (packages/k8s-hook/bundle/loader.cjs) compiles the hook with a V8 code
// cache. These run the built dist/index.js (scripts/test.sh builds it first) with an input the
// hook rejects before any API call, so no cluster is needed.
const INPUT = JSON.stringify({ command: 'cleanup_job', responseFile: '', args: null, state: null });

describe('the bundle loader and its code cache', () => {
  let root: string;
  let cacheDir: string;

  const runHook = (dir: string | null = cacheDir) => {
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: root, TMPDIR: root };
    if (dir !== null) env['ZRH_CODE_CACHE_DIR'] = dir;
    const r = spawnSync(process.execPath, [DEFAULT_HOOK_PATH], { input: INPUT, env, encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, out: r.stdout + r.stderr };
  };
  const cacheFiles = (dir = cacheDir) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.v8cache')) : []);

  beforeEach(() => {
    if (!existsSync(DEFAULT_HOOK_PATH)) throw new Error(`${DEFAULT_HOOK_PATH} is missing: build it (pnpm --filter @zfs-runner-hooks/k8s-hook build)`);
    root = mkdtempSync(join(tmpdir(), 'zrh-loader-'));
    cacheDir = join(root, 'code-cache');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes a private cache on the first run and uses it unchanged afterwards, with the same result', () => {
    const first = runHook();
    expect(first.code).toBe(1);
    expect(first.out).toContain('::error::Invalid hook input:%0A  responseFile: expected a non-empty string');
    const [file] = cacheFiles();
    expect(file).toMatch(new RegExp(`^[0-9a-f]{16}-${process.version}-${process.arch}\\.v8cache$`));
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(cacheDir, file!)).mode & 0o777).toBe(0o600);
    const written = statSync(join(cacheDir, file!));

    const second = runHook();
    expect(second).toEqual(first);
    const after = statSync(join(cacheDir, file!));
    expect([after.ino, after.mtimeMs]).toEqual([written.ino, written.mtimeMs]); // accepted, not rewritten
  });

  it('removes the caches of other builds when it writes its own', () => {
    mkdirSync(cacheDir, { mode: 0o700 });
    writeFileSync(join(cacheDir, `0000000000000000-${process.version}-${process.arch}.v8cache`), 'old build', { mode: 0o600 });
    writeFileSync(join(cacheDir, 'notes.txt'), 'not a cache', { mode: 0o600 });
    expect(runHook().code).toBe(1);
    expect(cacheFiles()).toHaveLength(1);
    expect(cacheFiles()[0]).not.toMatch(/^0{16}-/);
    expect(readdirSync(cacheDir)).toContain('notes.txt');
  });

  it('ignores a damaged cache, gives the same result and writes a good one', () => {
    const expected = runHook(); // writes the cache
    const file = join(cacheDir, cacheFiles()[0]!);
    const garbage = Buffer.alloc(statSync(file).size, 0x5a);
    writeFileSync(file, garbage);
    expect(runHook()).toEqual(expected);
    expect(readFileSync(file).equals(garbage)).toBe(false);
  });

  it('does not trust a folder others can write to, and `off` uses none', () => {
    mkdirSync(cacheDir);
    chmodSync(cacheDir, 0o777);
    const shared = runHook();
    expect(shared.code).toBe(1);
    expect(cacheFiles()).toEqual([]);

    const off = runHook('off');
    expect(off).toEqual(shared);
    expect(readdirSync(root).filter((f) => f.startsWith('zrh-hook-'))).toEqual([]);
  });

  it('defaults to a per-user folder in the temporary directory', () => {
    const r = runHook(null);
    expect(r.code).toBe(1);
    expect(cacheFiles(join(root, `zrh-hook-${process.getuid!()}`))).toHaveLength(1);
  });
});
