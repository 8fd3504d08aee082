import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, realpath, rename, rm } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { HookError } from '../errors.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = constants;

/**
 * A folder of the runner container that only the hook's user can enter (the state key, the
 * latest sequence number, the step journal). The rules are those of the bundle loader's code
 * cache folder (docs/decisions/0014-startup-time.md), stricter: no access for group or others at
 * all, as the folder holds a key. See docs/decisions/0015-sealed-job-state.md.
 */
export interface PrivateDir {
  readonly path: string;
  /** The hook's uid: owner of the folder and of every file in it. */
  readonly uid: number;
}

const HINT =
  'The hook keeps its job-state key in this folder (ZRH_STATE_DIR, default <tmpdir>/zrh-state-<uid>). Remove the folder or point ZRH_STATE_DIR at a folder of the runner user with mode 0700 outside _work.';

function unsafe(message: string, cause?: unknown): HookError {
  return new HookError('STATE_DIR_UNSAFE', message, { hint: HINT, ...(cause ? { cause } : {}) });
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/** What is wrong with a file or folder of the private folder, or undefined when nothing is. */
function problemOf(st: Stats, uid: number, kind: 'folder' | 'file'): string | undefined {
  if (st.isSymbolicLink()) return 'is a symbolic link';
  if (kind === 'folder' && !st.isDirectory()) return 'is not a folder';
  if (kind === 'file' && !st.isFile()) return 'is not a regular file';
  if (st.uid !== uid) return `is owned by uid ${st.uid}, not by the hook's uid ${uid}`;
  if ((st.mode & 0o077) !== 0) return `has mode ${octal(st.mode)}: group and others must have no access`;
  if (kind === 'file' && st.nlink !== 1) return `has ${st.nlink} hard links`;
  return undefined;
}

/**
 * Creates the folder (mode 0700) when it is missing and checks that it is the hook user's own:
 * a real folder (not a symbolic link), owned by `uid`, no access for group or others, and not
 * inside `workDir` (the job pod can reach everything there). Throws `STATE_DIR_UNSAFE`.
 */
export async function openPrivateDir(path: string, uid: number, workDir?: string): Promise<PrivateDir> {
  try {
    await mkdir(path, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw unsafe(`Cannot create the hook's state folder ${path}: ${(err as Error).message}`, err);
  }
  const st = await lstat(path).catch((err: unknown) => {
    throw unsafe(`Cannot read the hook's state folder ${path}: ${(err as Error).message}`, err);
  });
  const problem = problemOf(st, uid, 'folder');
  if (problem) throw unsafe(`The hook's state folder ${path} ${problem}; it is not used`);
  if (workDir) {
    const [real, work] = await Promise.all([realpath(path), realpath(workDir).catch(() => workDir)]);
    if (real === work || real.startsWith(`${work}${sep}`)) {
      throw unsafe(`The hook's state folder ${path} is inside the runner's _work (${workDir}), which the job pod can reach; it is not used`);
    }
  }
  return { path, uid };
}

/** Opens `name` in the folder without following a link and checks it like the folder. */
async function openChecked(dir: PrivateDir, name: string, flags: number, mode?: number) {
  const file = join(dir.path, name);
  const handle = await open(file, flags | O_NOFOLLOW | O_NONBLOCK, mode).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw unsafe(`Cannot open ${file} in the hook's state folder: ${err.code === 'ELOOP' ? 'it is a symbolic link' : err.message}`, err);
  });
  if (!handle) return undefined;
  const problem = problemOf(await handle.stat(), dir.uid, 'file');
  if (problem) {
    await handle.close();
    throw unsafe(`${file} in the hook's state folder ${problem}; it is not used`);
  }
  return handle;
}

/** The content of `name`, or undefined when there is no such file. */
export async function readPrivateFile(dir: PrivateDir, name: string): Promise<Buffer | undefined> {
  const handle = await openChecked(dir, name, O_RDONLY);
  if (!handle) return undefined;
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `name` with `data` atomically: written to a fresh name created with `O_EXCL` (mode
 * 0600), then renamed over it, so a reader sees the old or the new content, never a mix.
 */
export async function writePrivateFile(dir: PrivateDir, name: string, data: string | Buffer): Promise<void> {
  const tmp = `${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(join(dir.path, tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
  await rename(join(dir.path, tmp), join(dir.path, name)).catch(async (err: unknown) => {
    await rm(join(dir.path, tmp), { force: true });
    throw err;
  });
}

/** Appends `text` to `name` (created with mode 0600 when missing). */
export async function appendPrivateFile(dir: PrivateDir, name: string, text: string): Promise<void> {
  const handle = await openChecked(dir, name, O_WRONLY | O_APPEND | O_CREAT, 0o600);
  if (!handle) throw unsafe(`Cannot create ${join(dir.path, name)} in the hook's state folder`);
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

/** Removes `name`; never throws for a missing file. */
export async function removePrivateFile(dir: PrivateDir, name: string): Promise<void> {
  await rm(join(dir.path, name), { force: true });
}
