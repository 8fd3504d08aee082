import { createHash } from 'node:crypto';
import { link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack, type Header } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_COPY_BACK_LIMITS, type AcceptedMember, type CopyBackLimits } from './archive-member.js';
import { placeStaged, stageArchive, withStagingDir } from './safe-extract.js';

const FC = '_temp/_runner_file_commands';
const ALLOWED = [FC];

type Entry = { readonly header: Partial<Header> & { name: string } & { pax?: Record<string, string> }; readonly body?: string };

/** A tar made with tar-stream's packer. */
async function tarOf(entries: readonly Entry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve) => p.on('end', () => resolve()));
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => p.entry(e.header, e.body ?? '', (err) => (err ? reject(err) : resolve())));
  }
  p.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** A raw ustar header block (what tar-stream's packer would never write, e.g. a GNU long-name header). */
function rawHeader(name: string, typeflag: string, size: number): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100);
  b.write('0000644\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  b.write('00000000000\0', 136);
  b.write(typeflag, 156);
  b.write('ustar\0', 257);
  b.write('00', 263);
  b.fill(' ', 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return b;
}

/** A GNU long-name (`L`) header naming the next member `name`. */
function gnuLongName(name: string): Buffer {
  const data = Buffer.alloc(Math.ceil((name.length + 1) / 512) * 512);
  data.write(name);
  return Buffer.concat([rawHeader('././@LongLink', 'L', name.length + 1), data]);
}

const file = (name: string, body = 'x', mode = 0o644): Entry => ({ header: { name, type: 'file', mode }, body });
const dir = (name: string, mode = 0o755): Entry => ({ header: { name, type: 'directory', mode } });

/** sha256 of every path under `root` (type, mode, link target, content), to prove nothing changed. */
async function treeHash(root: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p);
    h.update(`${p.slice(root.length)}|${st.mode}|`);
    if (st.isSymbolicLink()) h.update(await readlink(p));
    else if (st.isFile()) h.update(await readFile(p));
    else if (st.isDirectory()) for (const n of (await readdir(p)).sort()) await walk(join(p, n));
  };
  await walk(root);
  return h.digest('hex');
}

/** Stages the tar on `input` and places it under `root`, as `copyFromPod` does once the exec has succeeded. */
function safeExtract(input: Readable, root: string, allowed: readonly string[], limits: CopyBackLimits): Promise<readonly AcceptedMember[]> {
  return withStagingDir(async (dir) => {
    const staged = await stageArchive(input, dir, allowed, limits);
    await placeStaged(staged, root);
    return staged.members;
  });
}

describe('stageArchive and placeStaged', () => {
  let base: string;
  let root: string;
  /** A runner-side folder outside `root` that links may point at. */
  let outside: string;
  const limits = (l: Partial<CopyBackLimits> = {}): CopyBackLimits => ({ ...DEFAULT_COPY_BACK_LIMITS, ...l });
  const extract = (archive: Buffer, l?: Partial<CopyBackLimits>) => safeExtract(Readable.from([archive]), root, ALLOWED, limits(l));

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'zrh-safe-extract-'));
    root = join(base, 'work');
    outside = join(base, 'home');
    await mkdir(join(root, FC), { recursive: true });
    await writeFile(join(root, FC, 'set_output_1'), '');
    await mkdir(join(outside, 'externals', 'node20', 'bin'), { recursive: true });
    await writeFile(join(outside, 'externals', 'node20', 'bin', 'node'), 'the real node', { mode: 0o755 });
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('places files, nested folders and empty files, keeps the exec bit and replaces existing files', async () => {
    // Larger than one read of a stream: every chunk arrives, in order.
    const big = Array.from({ length: 40_000 }, (_, i) => `${i}\n`).join('');
    const archive = await tarOf([
      dir(`${FC}/`),
      file(`${FC}/set_output_1`, 'answer=42\n'),
      file(`${FC}/empty`, ''),
      dir(`${FC}/sub`, 0o750),
      dir(`${FC}/sub/deeper`),
      file(`${FC}/sub/deeper/tool.sh`, '#!/bin/sh\n', 0o755),
      file(`${FC}/implicit/parent.txt`, 'p'),
      file(`${FC}/sub/large`, big),
    ]);
    const members = await extract(archive);
    await expect(readFile(join(root, FC, 'sub/large'), 'utf8')).resolves.toBe(big);
    expect(members.map((m) => m.rel)).toContain(`${FC}/sub/deeper/tool.sh`);
    await expect(readFile(join(root, FC, 'set_output_1'), 'utf8')).resolves.toBe('answer=42\n');
    await expect(readFile(join(root, FC, 'empty'), 'utf8')).resolves.toBe('');
    await expect(readFile(join(root, FC, 'sub/deeper/tool.sh'), 'utf8')).resolves.toBe('#!/bin/sh\n');
    await expect(readFile(join(root, FC, 'implicit/parent.txt'), 'utf8')).resolves.toBe('p');
    expect((await stat(join(root, FC, 'sub/deeper/tool.sh'))).mode & 0o7777).toBe(0o755);
    expect((await stat(join(root, FC, 'set_output_1'))).mode & 0o7777).toBe(0o644);
    expect((await stat(join(root, FC, 'sub'))).isDirectory()).toBe(true);
    // no temporary names are left behind
    expect((await readdir(join(root, FC))).sort()).toEqual(['empty', 'implicit', 'set_output_1', 'sub']);
  });

  it('replaces a file by name: a hard link to it elsewhere keeps the old content', async () => {
    await writeFile(join(outside, 'secret'), 'runner secret');
    await rm(join(root, FC, 'set_output_1'));
    await link(join(outside, 'secret'), join(root, FC, 'set_output_1'));
    await extract(await tarOf([file(`${FC}/set_output_1`, 'job data')]));
    await expect(readFile(join(root, FC, 'set_output_1'), 'utf8')).resolves.toBe('job data');
    await expect(readFile(join(outside, 'secret'), 'utf8')).resolves.toBe('runner secret');
  });

  it('drops setuid, setgid and sticky bits', async () => {
    await extract(await tarOf([file(`${FC}/suid`, '#!/bin/sh\n', 0o6755), dir(`${FC}/sticky`, 0o1777)]));
    expect((await stat(join(root, FC, 'suid'))).mode & 0o7777).toBe(0o755);
    expect((await stat(join(root, FC, 'sticky'))).mode & 0o7000).toBe(0);
  });

  it.each<[string, () => Promise<Buffer>, RegExp]>([
    ['a ".." name', () => tarOf([file(`${FC}/../../escaped`)]), /member "_temp\/_runner_file_commands\/..\/..\/escaped" has a "\.\." in its name/],
    ['an absolute name', () => tarOf([file(`/tmp/zrh-absolute`)]), /member "\/tmp\/zrh-absolute" has an absolute name/],
    [
      'a symlink (then a file through it)',
      () => tarOf([{ header: { name: `${FC}/x`, type: 'symlink', linkname: '/home/runner' } }, file(`${FC}/x/externals/node20/bin/node`)]),
      /member "_temp\/_runner_file_commands\/x" is a symbolic link \(to "\/home\/runner"\); only regular files and folders come back to the runner/,
    ],
    [
      'a hard link',
      () => tarOf([file(`${FC}/a`), { header: { name: `${FC}/b`, type: 'link', linkname: '/etc/passwd' } }]),
      /member "_temp\/_runner_file_commands\/b" is a hard link \(to "\/etc\/passwd"\)/,
    ],
    ['a FIFO', () => tarOf([{ header: { name: `${FC}/fifo`, type: 'fifo' } }]), /member "_temp\/_runner_file_commands\/fifo" is a FIFO/],
    ['a character device', () => tarOf([{ header: { name: `${FC}/null`, type: 'character-device', devmajor: 1, devminor: 3 } }]), /is a character device/],
    ['a block device', () => tarOf([{ header: { name: `${FC}/sda`, type: 'block-device', devmajor: 8, devminor: 0 } }]), /is a block device/],
    [
      'a file outside the allowed folders',
      () => tarOf([file('_temp/_github_home/.bashrc')]),
      /member "_temp\/_github_home\/.bashrc" is outside the folders this step may return \(_temp\/_runner_file_commands\)/,
    ],
    ['a parent of the allowed folder', () => tarOf([dir('_temp/')]), /member "_temp\/" is outside the folders/],
    ['a folder with the allowed name as a prefix', () => tarOf([file(`${FC}-evil/x`)]), /is outside the folders/],
    [
      'a PAX path that escapes',
      () => tarOf([{ header: { name: `${FC}/innocent`, type: 'file', pax: { path: `${FC}/../../../escaped` } }, body: 'x' }]),
      /member "_temp\/_runner_file_commands\/..\/..\/..\/escaped" has a "\.\." in its name/,
    ],
    ['a long PAX path that escapes', () => tarOf([file(`${FC}/${'d/'.repeat(80)}../../../../${'../'.repeat(80)}escaped`)]), /has a "\.\." in its name/],
    [
      'a GNU long name that escapes',
      async () => Buffer.concat([gnuLongName(`${FC}/../../escaped`), await tarOf([file(`${FC}/innocent`)])]),
      /member "_temp\/_runner_file_commands\/..\/..\/escaped" has a "\.\." in its name/,
    ],
    ['a "." part', () => tarOf([file(`${FC}/./x`)]), /has an empty or "\." part/],
    ['the same name twice', () => tarOf([file(`${FC}/a`), file(`${FC}/a`)]), /member "_temp\/_runner_file_commands\/a" appears twice/],
    ['a name part over 255 bytes', () => tarOf([file(`${FC}/${'n'.repeat(256)}`)]), /has a name part longer than 255 bytes/],
    ['an unknown member type', async () => Buffer.concat([rawHeader(`${FC}/dump`, 'D', 0), Buffer.alloc(1024)]), /has an unknown type/],
    ['something that is not a tar', async () => Buffer.alloc(2048, 'x'), /the archive is not a valid tar/],
    ['an archive cut off in a file', async () => (await tarOf([file(`${FC}/big`, 'y'.repeat(5000))])).subarray(0, 2048), /the archive is not a valid tar/],
  ])('refuses %s and changes nothing', async (_what, make, message) => {
    const before = await treeHash(base);
    await expect(extract(await make())).rejects.toThrow(message);
    expect(await treeHash(base)).toBe(before);
  });

  it.each<[string, Entry[], Partial<CopyBackLimits>, RegExp]>([
    [
      'an oversized file',
      [file(`${FC}/big`, 'y'.repeat(101))],
      { maxFileBytes: 100 },
      /member "_temp\/_runner_file_commands\/big" is 101 bytes, over the 100 bytes a file may have/,
    ],
    [
      'too many bytes in all',
      [file(`${FC}/a`, 'y'.repeat(60)), file(`${FC}/b`, 'y'.repeat(60)), file(`${FC}/c`, 'y'.repeat(60))],
      { maxTotalBytes: 150 },
      /member "_temp\/_runner_file_commands\/c" brings the archive's files over 150 bytes in all/,
    ],
    [
      'too many members',
      [file(`${FC}/a`), file(`${FC}/b`), file(`${FC}/c`), file(`${FC}/d`)],
      { maxMembers: 3 },
      /member "_temp\/_runner_file_commands\/d" is more than the 3 members a copy-back may hold/,
    ],
    ['an archive over its byte limit', [file(`${FC}/a`, 'y'.repeat(10_000))], { maxArchiveBytes: 4096 }, /the archive is larger than 4096 bytes/],
  ])('refuses %s (a limit) and changes nothing', async (_what, entries, l, message) => {
    const before = await treeHash(base);
    await expect(extract(await tarOf(entries), l)).rejects.toThrow(message);
    expect(await treeHash(base)).toBe(before);
  });

  it('has defaults far above file commands and below a full disk', () => {
    expect(DEFAULT_COPY_BACK_LIMITS).toEqual({ maxMembers: 10_000, maxFileBytes: 64 << 20, maxTotalBytes: 256 << 20, maxArchiveBytes: 512 << 20 });
  });

  it('refuses a whole archive when a late member breaks a rule: the good members before it are not placed', async () => {
    const before = await treeHash(base);
    await expect(extract(await tarOf([file(`${FC}/set_output_1`, 'changed'), { header: { name: `${FC}/fifo`, type: 'fifo' } }]))).rejects.toThrow(/is a FIFO/);
    expect(await treeHash(base)).toBe(before);
    await expect(readFile(join(root, FC, 'set_output_1'), 'utf8')).resolves.toBe('');
  });

  it('does not follow a symlink already in the destination folder (planted before the extraction)', async () => {
    await symlink(outside, join(root, FC, 'x'));
    const before = await treeHash(base);
    await expect(extract(await tarOf([file(`${FC}/x/externals/node20/bin/node`, 'evil')]))).rejects.toThrow(
      /member "_temp\/_runner_file_commands\/x\/externals\/node20\/bin\/node" cannot be placed: "_temp\/_runner_file_commands\/x" on the runner is a symbolic link or special file, and the hook does not write through it/,
    );
    expect(await treeHash(base)).toBe(before);
    await expect(readFile(join(outside, 'externals/node20/bin/node'), 'utf8')).resolves.toBe('the real node');
  });

  it('does not replace or write through a symlink in place of a file, nor through a linked folder higher up', async () => {
    await rm(join(root, FC, 'set_output_1'));
    await symlink(join(outside, 'externals/node20/bin/node'), join(root, FC, 'set_output_1'));
    let before = await treeHash(base);
    await expect(extract(await tarOf([file(`${FC}/set_output_1`, 'evil')]))).rejects.toThrow(
      /cannot be placed: "_temp\/_runner_file_commands\/set_output_1" on the runner is a symbolic link or special file, and the hook does not replace it/,
    );
    expect(await treeHash(base)).toBe(before);

    // `_temp` itself a link to a folder outside `_work`
    await rm(join(root, '_temp'), { recursive: true });
    await mkdir(join(outside, '_runner_file_commands'), { recursive: true });
    await symlink(outside, join(root, '_temp'));
    before = await treeHash(base);
    await expect(extract(await tarOf([file(`${FC}/new`, 'evil')]))).rejects.toThrow(
      /"_temp" on the runner is a symbolic link or special file, and the hook does not write through it/,
    );
    expect(await treeHash(base)).toBe(before);
  });

  it('does not put a folder where the runner has a file, nor a file where it has a folder', async () => {
    await mkdir(join(root, FC, 'adir'));
    const before = await treeHash(base);
    await expect(extract(await tarOf([dir(`${FC}/set_output_1`)]))).rejects.toThrow(
      /"_temp\/_runner_file_commands\/set_output_1" on the runner is a regular file/,
    );
    await expect(extract(await tarOf([file(`${FC}/adir`)]))).rejects.toThrow(/"_temp\/_runner_file_commands\/adir" on the runner is a folder/);
    expect(await treeHash(base)).toBe(before);
  });
});
