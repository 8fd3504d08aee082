import { randomBytes } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access, lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { HookError } from '../errors.js';
import { EXTERNALS_REL, HOOK_TEMP_REL } from './paths.js';
import { SharedDir } from './shared-dir.js';

/**
 * Opens `_work/_temp/_zrh` (created world-writable, so a non-root job container can write pid
 * files), without following a link the job may have planted on the way.
 */
export async function openHookTemp(workDir: string): Promise<SharedDir> {
  const dir = await SharedDir.open(workDir, HOOK_TEMP_REL, { create: true });
  await dir.chmod(0o777).catch(() => undefined);
  return dir;
}

/** Creates `_work/_temp/_zrh` (see `openHookTemp`). */
export async function ensureHookTemp(workDir: string): Promise<void> {
  await (await openHookTemp(workDir)).close();
}

/** Creates folders of `_work` (prepare_job) without following a link on the way. */
export async function ensureWorkDirs(workDir: string, rels: readonly string[]): Promise<void> {
  for (const rel of rels) await (await SharedDir.open(workDir, rel, { create: true })).close();
}

/** Writes a step's env file into `_work/_temp/_zrh`; returns its path relative to `_work`. */
export async function writeEnvFile(workDir: string, id: string, text: string): Promise<string> {
  const dir = await openHookTemp(workDir);
  try {
    await dir.writeNew(`${id}.env`, text, 0o644);
  } finally {
    await dir.close();
  }
  return `${HOOK_TEMP_REL}/${id}.env`;
}

/** Removes a step's local scratch files (never what a link points to); never throws. */
export async function removeStepFiles(workDir: string, id: string): Promise<void> {
  const dir = await SharedDir.open(workDir, HOOK_TEMP_REL).catch(() => undefined);
  if (!dir) return;
  try {
    await Promise.all(['env', 'pid'].map((ext) => dir.remove(`${id}.${ext}`)));
  } finally {
    await dir.close();
  }
}

/** The subset of `rels` (relative to `root`) that exist locally. */
export async function existing(root: string, rels: readonly string[]): Promise<string[]> {
  const found = await Promise.all(
    rels.map((r) =>
      access(join(root, r), constants.F_OK).then(
        () => r,
        () => undefined,
      ),
    ),
  );
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

/** Copies the runner's folder `src` (trusted) into `dest` (shared), file by file, never following a link in `dest`. */
async function copyTree(src: string, dest: SharedDir): Promise<void> {
  for (const entry of await readdir(src, { withFileTypes: true })) {
    const from = join(src, entry.name);
    if (entry.isDirectory()) {
      const sub = await dest.sub(entry.name, 0o755);
      try {
        await copyTree(from, sub);
        await sub.chmod((await lstat(from)).mode & 0o777);
      } finally {
        await sub.close();
      }
    } else if (entry.isSymbolicLink()) {
      await dest.link(await readlink(from), entry.name);
    } else if (entry.isFile()) {
      await dest.writeNew(entry.name, createReadStream(from), (await lstat(from)).mode & 0o777);
    }
  }
}

/**
 * Volume mode: copies one externals folder (e.g. `node20`) into `_work/_externals` where the job
 * pod sees it as `/__e/node20`. Copies to a temporary name first, so a partial copy is never used,
 * and writes every file relative to folders it holds open: the job pod can change `_work` while the
 * copy runs, and a folder it swaps for a link must not send the runner's files elsewhere.
 */
export async function copyExternalLocally(externalsDir: string, workDir: string, name: string): Promise<void> {
  const parent = await SharedDir.open(workDir, EXTERNALS_REL, { create: true });
  try {
    if (
      await access(parent.at(name)).then(
        () => true,
        () => false,
      )
    )
      return;
    const tmp = `${name}.partial-${randomBytes(6).toString('hex')}`;
    try {
      const dir = await parent.sub(tmp, 0o755);
      try {
        await copyTree(join(externalsDir, name), dir);
      } finally {
        await dir.close();
      }
    } catch (err) {
      // The partial copy stays (under a name nothing uses): removing a tree the job pod can change
      // while it is removed could remove what a link it plants points to.
      if (err instanceof HookError) throw err;
      throw new HookError('COPY_FAILED', `Copying ${join(externalsDir, name)} to ${parent.path}/${name} failed: ${(err as Error).message}`, { cause: err });
    }
    await parent.rename(tmp, name).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  } finally {
    await parent.close();
  }
}
