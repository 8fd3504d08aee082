/**
 * The runner's side of a copy-back: an archive the job container produced is parsed here (never by
 * a system `tar`), checked member by member (archive-member.ts), staged in a private folder, and
 * only then moved into place without following any link on the runner's side.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, rename, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeNewFile } from '../workspace/shared-dir.js';
import { ArchiveRejectedError, checkMember, quote, type AcceptedMember, type CopyBackLimits } from './archive-member.js';

/** An archive checked and extracted into a private folder, not yet on the runner's side. */
export interface StagedArchive {
  /** The private folder (0700) holding the members under their `rel` names. */
  readonly dir: string;
  /** The accepted members, in archive order. */
  readonly members: readonly AcceptedMember[];
}

/** Passes bytes through until there are more than `max`, then fails. */
function byteLimit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      seen += chunk.length;
      if (seen > max) cb(new ArchiveRejectedError('', `the archive is larger than ${max} bytes`));
      else cb(null, chunk);
    },
  });
}

const READ_NO_LINK = constants.O_RDONLY | constants.O_NOFOLLOW;

/**
 * Reads the tar on `input` into a new private folder, refusing the whole archive at its first
 * member that breaks a rule (see `checkMember`) or when it is larger than `limits.maxArchiveBytes`.
 * Nothing outside the new folder is written. The caller removes `dir` (also on failure: it is
 * created first and passed in, see `withStagingDir`).
 */
export async function stageArchive(input: Readable, dir: string, allowed: readonly string[], limits: CopyBackLimits): Promise<StagedArchive> {
  const { extract } = await import(/* webpackMode: "eager" */ 'tar-stream');
  const parser = extract();
  const members: AcceptedMember[] = [];
  const seen = new Set<string>();
  let total = 0;
  // A failure of the feed (too large, cut off) destroys the parser, which ends the loop below with
  // that error; a rule broken in the loop destroys the parser, which ends the feed.
  const feeding = pipeline(input, byteLimit(limits.maxArchiveBytes), parser);
  feeding.catch(() => undefined);
  try {
    for await (const entry of parser) {
      const member = checkMember(entry.header, allowed, limits, seen, total);
      total += member.size;
      const path = join(dir, member.rel);
      if (member.type === 'directory') {
        await mkdir(path, { recursive: true, mode: 0o700 });
        entry.resume();
      } else {
        await mkdir(posix.dirname(path), { recursive: true, mode: 0o700 });
        // tar-stream's entries yield Buffers (its types say `unknown`).
        await writeNewFile(path, entry as AsyncIterable<Buffer>, 0o600);
      }
      members.push(member);
    }
    await feeding;
  } catch (err) {
    parser.destroy();
    if (err instanceof ArchiveRejectedError) throw err;
    const why = (err as Error).message;
    throw new ArchiveRejectedError('', `the archive is not a valid tar (${why})`);
  }
  return { dir, members };
}

/** Runs `fn` with a fresh private folder (mkdtemp, 0700) under the OS temp folder and removes it afterwards. */
export async function withStagingDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'zrh-copy-back-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What a runner-side path is now: missing, a real folder, a regular file, or something else. */
async function kindOf(path: string): Promise<'missing' | 'directory' | 'file' | 'other'> {
  try {
    const st = await lstat(path);
    if (st.isDirectory()) return 'directory';
    if (st.isFile()) return 'file';
    return 'other';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
}

function describeKind(path: string, kind: string): string {
  return `${quote(path)} on the runner is ${kind === 'other' ? 'a symbolic link or special file' : `a ${kind === 'directory' ? 'folder' : 'regular file'}`}`;
}

/**
 * Checks, before anything changes, that every member can be placed under `root` without following
 * a link: each folder on the way (below `root`) is missing or a real folder (lstat), and a member's
 * own path is missing or of the member's kind. `root` itself is the runner's own and trusted.
 * @throws ArchiveRejectedError naming the member and the runner-side path in the way
 */
async function checkDestinations(root: string, members: readonly AcceptedMember[]): Promise<void> {
  const known = new Map<string, Awaited<ReturnType<typeof kindOf>>>();
  const kind = async (rel: string) => {
    let k = known.get(rel);
    if (!k) {
      k = await kindOf(join(root, rel));
      known.set(rel, k);
    }
    return k;
  };
  for (const m of members) {
    const parts = m.rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      const k = await kind(rel);
      if (k === 'missing') break;
      if (k !== 'directory') throw new ArchiveRejectedError(m.rel, `cannot be placed: ${describeKind(rel, k)}, and the hook does not write through it`);
    }
    const k = await kind(m.rel);
    if (k !== 'missing' && k !== m.type) throw new ArchiveRejectedError(m.rel, `cannot be placed: ${describeKind(m.rel, k)}, and the hook does not replace it`);
  }
}

/**
 * Creates the folder `rel` under `root` (and missing folders above it) without following links.
 * `made` holds the folders this placement has ensured already, which are not looked at again.
 */
async function ensureDir(root: string, rel: string, mode: number, made: Set<string>): Promise<void> {
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const sub = parts.slice(0, i).join('/');
    if (made.has(sub)) continue;
    const path = join(root, sub);
    await mkdir(path, { mode: i === parts.length ? mode : 0o755 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    // mkdir does not follow a link at its last part (EEXIST); make sure what is there is a folder.
    const k = await kindOf(path);
    if (k !== 'directory') throw new ArchiveRejectedError(rel, `cannot be placed: ${describeKind(sub, k)}`);
    made.add(sub);
  }
}

/**
 * Writes one staged file to `dest`: a new file with a temporary name in the destination folder
 * (O_CREAT|O_EXCL|O_NOFOLLOW, mode set on the open file), then renamed over `dest`. A rename
 * replaces the name only, so a hard link elsewhere to the old file keeps its content.
 */
async function placeFile(src: string, dest: string, mode: number): Promise<void> {
  const tmp = join(posix.dirname(dest), `.zrh-copy-back-${randomBytes(6).toString('hex')}`);
  const input = await open(src, READ_NO_LINK);
  try {
    await writeNewFile(tmp, input.createReadStream({ autoClose: false }), mode);
    const k = await kindOf(dest);
    if (k !== 'missing' && k !== 'file') throw new ArchiveRejectedError(dest, `cannot be placed: ${describeKind(dest, k)}`);
    await rename(tmp, dest);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  } finally {
    await input.close();
  }
}

/**
 * Moves a staged archive into place under `root`: checks every destination first (nothing changes
 * when one is in the way), then creates folders and replaces files in archive order. Existing
 * folders keep their mode; new folders and files get the member's `rwx` bits (a folder always
 * `u+rwx`); nothing is chowned, and nothing is written through a link.
 */
export async function placeStaged(staged: StagedArchive, root: string): Promise<void> {
  await checkDestinations(root, staged.members);
  const made = new Set<string>();
  for (const m of staged.members) {
    if (m.type === 'directory') {
      await ensureDir(root, m.rel, m.mode | 0o700, made);
      continue;
    }
    const parent = posix.dirname(m.rel);
    if (parent !== '.') await ensureDir(root, parent, 0o755, made);
    await placeFile(join(staged.dir, m.rel), join(root, m.rel), m.mode);
  }
}
