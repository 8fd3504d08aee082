/**
 * Folders of `_work` that the job pod can change while the hook works in them (volume mode mounts
 * all of `_work`). A path name is resolved again by every call, so a folder the job swaps for a
 * symbolic link between a check and a write would send the write elsewhere on the runner. Instead
 * each folder is opened once, component by component, without following a link
 * (`O_DIRECTORY|O_NOFOLLOW`), and every later call names its file relative to that open folder
 * through `/proc/self/fd/<fd>/<name>` — the `openat` of a Node.js program: the kernel resolves the
 * name inside the folder that is open, wherever a link may point now.
 */
import { constants } from 'node:fs';
import { mkdir, open, rename, rm, symlink, writeFile, type FileHandle } from 'node:fs/promises';
import { HookError } from '../errors.js';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_WRONLY, O_CREAT, O_EXCL } = constants;
const OPEN_DIR = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
const WRITE_NEW = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;

/**
 * Creates the new file `path` and fills it from `data`: `O_CREAT|O_EXCL|O_NOFOLLOW`, so neither an
 * existing file nor a link at `path` is ever written through; created `0600`, then set to `mode` on
 * the open file. `onOpenError` maps a failure to create the file (not to read `data`).
 */
export async function writeNewFile(
  path: string,
  data: string | Uint8Array | AsyncIterable<Uint8Array>,
  mode: number,
  onOpenError: (err: NodeJS.ErrnoException) => Error = (err) => err,
): Promise<void> {
  const file = await open(path, WRITE_NEW, 0o600).catch((err: NodeJS.ErrnoException) => {
    throw onOpenError(err);
  });
  try {
    await writeFile(file, data);
    await file.chmod(mode);
  } finally {
    await file.close();
  }
}

/** One name inside a folder: no separators, not `.` or `..`. */
function checkName(name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new HookError('WORKSPACE_UNSAFE', `Invalid file name ${JSON.stringify(name)} in the runner's _work`);
  }
  return name;
}

function unsafe(path: string, err: NodeJS.ErrnoException): HookError {
  const why = err.code === 'ELOOP' || err.code === 'ENOTDIR' ? 'is a symbolic link or not a folder' : `cannot be opened (${err.code ?? err.message})`;
  return new HookError('WORKSPACE_UNSAFE', `${path} in the runner's _work ${why}; the hook does not write through it`, {
    cause: err,
    hint: 'The job pod shares _work in volume mode and a step replaced a folder the hook and the runner use. Look for a step that writes under _work/_temp or _work/_externals, and re-run the job.',
  });
}

/** A folder held open; names inside it are resolved relative to it. */
export class SharedDir {
  private constructor(
    private readonly handle: FileHandle,
    /** The folder's path as it was opened (for messages). */
    readonly path: string,
  ) {}

  /**
   * Opens `rel` (slash-separated) under `root` without following a link at any component below
   * `root`, creating missing folders with `mode` when `create` is set. `root` is the runner's own
   * (`_work` itself is the mount point, which the job cannot replace).
   */
  static async open(root: string, rel: string, options: { readonly create?: boolean; readonly mode?: number } = {}): Promise<SharedDir> {
    let dir = await open(root, O_RDONLY | O_DIRECTORY).catch((err: NodeJS.ErrnoException) => {
      throw unsafe(root, err);
    });
    let path = root;
    try {
      for (const part of rel.split('/').filter((p) => p !== '')) {
        const inside = `/proc/self/fd/${dir.fd}/${checkName(part)}`;
        path = `${path}/${part}`;
        if (options.create) {
          // mkdir never follows a link at its last component (EEXIST), so it cannot create elsewhere.
          await mkdir(inside, { mode: options.mode ?? 0o755 }).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'EEXIST') throw unsafe(path, err);
          });
        }
        const next = await open(inside, OPEN_DIR).catch((err: NodeJS.ErrnoException) => {
          throw unsafe(path, err);
        });
        await dir.close();
        dir = next;
      }
    } catch (err) {
      await dir.close().catch(() => undefined);
      throw err;
    }
    return new SharedDir(dir, path);
  }

  /** The path of `name` inside this folder, resolved through the open folder. */
  at(name: string): string {
    return `/proc/self/fd/${this.handle.fd}/${checkName(name)}`;
  }

  /** Sets the folder's own mode (on the open folder, never through a link). */
  async chmod(mode: number): Promise<void> {
    await this.handle.chmod(mode);
  }

  /**
   * Writes a new file `name` (an old file or link of that name is removed first, never followed)
   * with `writeNewFile`, so a link the job plants in between makes the write fail instead of
   * landing elsewhere. `data` may be a stream (e.g. of a runner's file to copy in).
   */
  async writeNew(name: string, data: string | Uint8Array | AsyncIterable<Uint8Array>, mode = 0o644): Promise<void> {
    await this.remove(name);
    await writeNewFile(this.at(name), data, mode, (err) => unsafe(`${this.path}/${name}`, err));
  }

  /** Removes the file `name` if it is there (a link itself, never what it points to); never throws. */
  async remove(name: string): Promise<void> {
    await rm(this.at(name), { force: true }).catch(() => undefined);
  }

  /** Opens the folder `name` inside this one (created when missing), without following a link. */
  async sub(name: string, mode = 0o755): Promise<SharedDir> {
    return SharedDir.open(`/proc/self/fd/${this.handle.fd}`, checkName(name), { create: true, mode }).then(
      (d) => new SharedDir(d.handle, `${this.path}/${name}`),
    );
  }

  /** Creates the symbolic link `name` → `target` (symlink never follows anything at `name`). */
  async link(target: string, name: string): Promise<void> {
    await symlink(target, this.at(name));
  }

  /** Renames `from` to `to`, both inside this folder (rename never follows a link). */
  async rename(from: string, to: string): Promise<void> {
    await rename(this.at(from), this.at(to));
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
