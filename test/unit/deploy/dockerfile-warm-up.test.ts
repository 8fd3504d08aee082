import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Env } from 'dockerfile-ast';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_HOOK_PATH } from '../../simulator/runner.js';
import { instructionsOf, readStages, type Stage } from './dockerfile-stages.js';
import { repoPath } from './repo.js';

// The final stage of Dockerfile.runner warms the hook's V8 code cache as the runner user. There is
// no Docker engine here, so this runs that RUN instruction's own shell text against a copy of the
// runner's layout (/home/runner → a scratch folder, the runner's node20 → this Node) and checks
// what a runner pod would then find.

const finalStage = readStages(repoPath('Dockerfile.runner')).at(-1) as Stage;
const envOf = (name: string) =>
  instructionsOf(finalStage, 'ENV')
    .flatMap((i) => (i as Env).getProperties())
    .find((p) => p.getName() === name)
    ?.getValue();
/** The RUN instruction that warms the cache. */
const warmUp = instructionsOf(finalStage, 'RUN').find((r) => (r.getArgumentsContent() ?? '').includes('ZRH_CODE_CACHE_DIR'));

describe('Dockerfile.runner: the code cache warm-up', () => {
  let root: string;
  const home = () => join(root, 'home/runner');

  beforeAll(() => {
    if (!existsSync(DEFAULT_HOOK_PATH)) throw new Error(`${DEFAULT_HOOK_PATH} is missing: build the hook first`);
    root = mkdtempSync(join(tmpdir(), 'zrh-warm-up-'));
    mkdirSync(join(home(), 'k8s'), { recursive: true });
    mkdirSync(join(home(), 'externals/node20/bin'), { recursive: true });
    copyFileSync(DEFAULT_HOOK_PATH, join(home(), 'k8s/index.js'));
    symlinkSync(process.execPath, join(home(), 'externals/node20/bin/node'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('runs after USER runner and points the hook at the warmed folder', () => {
    const keywords = finalStage.instructions.map((i) => i.getKeyword());
    expect(warmUp).toBeDefined();
    expect(keywords.indexOf('USER')).toBeLessThan(finalStage.instructions.indexOf(warmUp!));
    expect(envOf('ZRH_CODE_CACHE_DIR')).toBe('/home/runner/.cache/zrh-hook');
  });

  it('writes a private cache that a later hook call accepts unchanged', () => {
    const script = (warmUp?.getArgumentsContent() ?? '').replace(/\\\n/g, ' ').replaceAll('/home/runner', home());
    const cacheDir = envOf('ZRH_CODE_CACHE_DIR')!.replace('/home/runner', home());
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ZRH_CODE_CACHE_DIR: cacheDir, KUBECONFIG: '/should/be/unset' };
    const built = spawnSync('/bin/sh', ['-c', script], { env, encoding: 'utf8', timeout: 60_000 });
    expect(built.status, built.stderr).toBe(0);
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    const [file] = readdirSync(cacheDir);
    expect(file).toMatch(/\.v8cache$/);
    const before = statSync(join(cacheDir, file!));

    // A runner pod's first hook call: stdin it rejects before any request, same Node, same folder.
    const call = spawnSync(join(home(), 'externals/node20/bin/node'), [join(home(), 'k8s/index.js')], {
      env: { PATH: env.PATH, ZRH_CODE_CACHE_DIR: cacheDir },
      input: '{}',
      encoding: 'utf8',
    });
    expect(call.stdout).toContain('::error::Invalid hook input');
    const after = statSync(join(cacheDir, file!));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });
});
