import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HookError } from '../errors.js';
import { EXTERNALS_REL, HOOK_TEMP_REL } from './paths.js';

/** Creates `_work/_temp/_zrh` (world-writable, so a non-root job container can write pid files). */
export async function ensureHookTemp(workDir: string): Promise<string> {
  const dir = join(workDir, HOOK_TEMP_REL);
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o777).catch(() => undefined);
  return dir;
}

/** Writes a step's env file into `_work/_temp/_zrh`; returns its path relative to `_work`. */
export async function writeEnvFile(workDir: string, id: string, text: string): Promise<string> {
  const dir = await ensureHookTemp(workDir);
  await writeFile(join(dir, `${id}.env`), text, { mode: 0o644 });
  return `${HOOK_TEMP_REL}/${id}.env`;
}

/** Removes a step's local scratch files; never throws. */
export async function removeStepFiles(workDir: string, id: string): Promise<void> {
  await Promise.all(['env', 'pid'].map((ext) => rm(join(workDir, HOOK_TEMP_REL, `${id}.${ext}`), { force: true }).catch(() => undefined)));
}

/** The subset of `rels` (relative to `root`) that exist locally. */
export async function existing(root: string, rels: readonly string[]): Promise<string[]> {
  const found = await Promise.all(rels.map((r) => access(join(root, r), constants.F_OK).then(() => r, () => undefined)));
  return found.filter((r): r is string => r !== undefined);
}

/** The action folders (`_actions/<owner>/<repo>/<ref>`) the runner has downloaded. */
export async function listActionDirs(workDir: string): Promise<string[]> {
  const out: string[] = [];
  const dirs = async (p: string) => (await readdir(p, { withFileTypes: true }).catch(() => [])).filter((d) => d.isDirectory()).map((d) => d.name);
  for (const owner of await dirs(join(workDir, '_actions'))) {
    for (const repo of await dirs(join(workDir, '_actions', owner))) {
      for (const ref of await dirs(join(workDir, '_actions', owner, repo))) out.push(`_actions/${owner}/${repo}/${ref}`);
    }
  }
  return out;
}

/**
 * Volume mode: copies one externals folder (e.g. `node20`) into `_work/_externals` where the job
 * pod sees it as `/__e/node20`. Copies to a temporary name first, so a partial copy is never used.
 */
export async function copyExternalLocally(externalsDir: string, workDir: string, name: string): Promise<void> {
  const target = join(workDir, EXTERNALS_REL, name);
  if (await access(target).then(() => true, () => false)) return;
  await mkdir(join(workDir, EXTERNALS_REL), { recursive: true });
  const tmp = `${target}.partial-${process.pid}`;
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn('cp', ['-a', join(externalsDir, name), tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.once('error', reject);
    child.once('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) {
    await rm(tmp, { recursive: true, force: true });
    throw new HookError('COPY_FAILED', `Copying ${join(externalsDir, name)} to ${target} failed (cp exited with ${code})`);
  }
  await rename(tmp, target).catch(async (err: NodeJS.ErrnoException) => {
    await rm(tmp, { recursive: true, force: true });
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
  });
}
