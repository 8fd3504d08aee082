import type { Header } from 'tar-stream';

/** Bounds on what one copy-back may bring to the runner. */
export interface CopyBackLimits {
  /** Members (files and folders) in the archive. @default 10000 */
  readonly maxMembers: number;
  /** Size of one file. @default 64 MiB */
  readonly maxFileBytes: number;
  /** Sum of the files' sizes. @default 256 MiB */
  readonly maxTotalBytes: number;
  /** Bytes of the archive itself (headers, long names and padding included). @default 512 MiB */
  readonly maxArchiveBytes: number;
}

const MiB = 1024 * 1024;

/**
 * What a copy-back accepts by default: far above what the runner's file commands hold (GitHub caps
 * an output at 1 MB and a step summary at 1 MiB), far below what would fill the runner's disk.
 */
export const DEFAULT_COPY_BACK_LIMITS: CopyBackLimits = {
  maxMembers: 10_000,
  maxFileBytes: 64 * MiB,
  maxTotalBytes: 256 * MiB,
  maxArchiveBytes: 512 * MiB,
};

/** Longest name accepted (Linux PATH_MAX) and longest single name part (NAME_MAX), in bytes. */
const MAX_NAME_BYTES = 4096;
const MAX_PART_BYTES = 255;

/** A member the archive filter let through. */
export interface AcceptedMember {
  readonly type: 'file' | 'directory';
  /** Normalised name relative to the extraction root: no `.`/`..`/empty parts, no trailing `/`. */
  readonly rel: string;
  /** Permission bits to create it with: the archive's `rwx` bits, never setuid, setgid or sticky. */
  readonly mode: number;
  readonly size: number;
}

/** The archive names a member the hook refuses; nothing of the archive is used. */
export class ArchiveRejectedError extends Error {
  override readonly name = 'ArchiveRejectedError';
  /** The member's name as the archive gives it (or `''` for the archive as a whole). */
  readonly member: string;
  /** Which rule it broke, in words. */
  readonly rule: string;

  constructor(member: string, rule: string) {
    super(member ? `member ${quote(member)} ${rule}` : rule);
    this.member = member;
    this.rule = rule;
  }
}

/** A member name for a message: JSON-quoted (control characters visible), at most 200 characters. */
export function quote(name: string): string {
  const q = JSON.stringify(name);
  return q.length > 200 ? `${q.slice(0, 190)}…" (${Buffer.byteLength(name)} bytes)` : q;
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  symlink: 'is a symbolic link',
  link: 'is a hard link',
  fifo: 'is a FIFO',
  'character-device': 'is a character device',
  'block-device': 'is a block device',
  'contiguous-file': 'is a contiguous file',
};

/**
 * `name` as a path relative to the extraction root, or the reason it is refused: absolute names,
 * `.`, `..` and empty parts are refused rather than cleaned, so a name means one path only.
 */
function relativeName(name: string, isDir: boolean): string {
  if (name === '') throw new ArchiveRejectedError(name, 'has an empty name');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw new ArchiveRejectedError(name, `has a name longer than ${MAX_NAME_BYTES} bytes`);
  if (name.startsWith('/')) throw new ArchiveRejectedError(name, 'has an absolute name');
  if (name.includes('\0')) throw new ArchiveRejectedError(name, 'has a NUL byte in its name');
  const trimmed = isDir && name.endsWith('/') ? name.slice(0, -1) : name;
  const parts = trimmed.split('/');
  for (const part of parts) {
    if (part === '..') throw new ArchiveRejectedError(name, 'has a ".." in its name');
    if (part === '' || part === '.') throw new ArchiveRejectedError(name, 'has an empty or "." part in its name');
    if (Buffer.byteLength(part) > MAX_PART_BYTES) throw new ArchiveRejectedError(name, `has a name part longer than ${MAX_PART_BYTES} bytes`);
  }
  return trimmed;
}

/** Whether `rel` is one of `allowed` or inside one. */
function isAllowed(rel: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => rel === a || rel.startsWith(`${a}/`));
}

/**
 * Checks one archive header against the copy-back rules: only regular files and folders, named
 * inside one of the `allowed` folders (relative, no `..`), each name once, within the limits.
 * `seen` (names so far) and `total` (bytes so far) carry the archive's running counts.
 * @throws ArchiveRejectedError naming the member and the rule it breaks
 */
export function checkMember(
  header: Pick<Header, 'name' | 'type' | 'size' | 'mode' | 'linkname'>,
  allowed: readonly string[],
  limits: CopyBackLimits,
  seen: Set<string>,
  total: number,
): AcceptedMember {
  const { name } = header;
  if (header.type !== 'file' && header.type !== 'directory') {
    const what = (header.type && TYPE_WORDS[header.type]) ?? `has an unknown type (${String(header.type)})`;
    const target = header.linkname ? ` (to ${quote(header.linkname)})` : '';
    throw new ArchiveRejectedError(name, `${what}${target}; only regular files and folders come back to the runner`);
  }
  const isDir = header.type === 'directory';
  if (!isDir && name.endsWith('/')) throw new ArchiveRejectedError(name, 'is a file whose name ends in "/"');
  const rel = relativeName(name, isDir);
  if (!isAllowed(rel, allowed)) {
    throw new ArchiveRejectedError(name, `is outside the folders this step may return (${allowed.join(', ') || 'none'})`);
  }
  if (seen.has(rel)) throw new ArchiveRejectedError(name, 'appears twice in the archive');
  if (seen.size + 1 > limits.maxMembers) throw new ArchiveRejectedError(name, `is more than the ${limits.maxMembers} members a copy-back may hold`);
  const size = isDir ? 0 : header.size;
  if (size > limits.maxFileBytes) throw new ArchiveRejectedError(name, `is ${size} bytes, over the ${limits.maxFileBytes} bytes a file may have`);
  if (total + size > limits.maxTotalBytes) throw new ArchiveRejectedError(name, `brings the archive's files over ${limits.maxTotalBytes} bytes in all`);
  seen.add(rel);
  return { type: isDir ? 'directory' : 'file', rel, mode: header.mode & 0o777, size };
}
