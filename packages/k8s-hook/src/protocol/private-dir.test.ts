import { chmod, link, lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendPrivateFile, openPrivateDir, readPrivateFile, writePrivateFile } from './private-dir.js';

const uid = process.getuid?.() ?? 0;
let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'zrh-private-dir-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('openPrivateDir', () => {
  it('creates a missing folder with mode 0700', async () => {
    const dir = await openPrivateDir(join(root, 'state'), uid);
    expect(dir.path).toBe(join(root, 'state'));
    expect((await lstat(dir.path)).mode & 0o777).toBe(0o700);
  });

  it('accepts an existing folder of the user with mode 0700', async () => {
    await mkdir(join(root, 'state'), { mode: 0o700 });
    await expect(openPrivateDir(join(root, 'state'), uid)).resolves.toEqual({ path: join(root, 'state'), uid });
  });

  it('refuses a folder whose parent is missing', async () => {
    await expect(openPrivateDir(join(root, 'missing', 'state'), uid)).rejects.toMatchObject({
      code: 'STATE_DIR_UNSAFE',
      message: expect.stringContaining("Cannot create the hook's state folder"),
    });
  });

  it('refuses a folder of another user', async () => {
    await mkdir(join(root, 'state'), { mode: 0o700 });
    await expect(openPrivateDir(join(root, 'state'), uid + 1)).rejects.toMatchObject({
      code: 'STATE_DIR_UNSAFE',
      message: expect.stringContaining(`is owned by uid ${uid}, not by the hook's uid ${uid + 1}`),
    });
  });

  it.each([0o755, 0o750, 0o701, 0o770])('refuses a folder with mode %o', async (mode) => {
    await mkdir(join(root, 'state'));
    await chmod(join(root, 'state'), mode);
    await expect(openPrivateDir(join(root, 'state'), uid)).rejects.toMatchObject({
      code: 'STATE_DIR_UNSAFE',
      message: expect.stringContaining(`has mode 0${mode.toString(8)}`),
    });
  });

  it('refuses a symbolic link, even to a good folder', async () => {
    await mkdir(join(root, 'real'), { mode: 0o700 });
    await symlink(join(root, 'real'), join(root, 'state'));
    await expect(openPrivateDir(join(root, 'state'), uid)).rejects.toMatchObject({
      code: 'STATE_DIR_UNSAFE',
      message: expect.stringContaining('is a symbolic link'),
    });
  });

  it('refuses a file', async () => {
    await writeFile(join(root, 'state'), '');
    await expect(openPrivateDir(join(root, 'state'), uid)).rejects.toMatchObject({ message: expect.stringContaining('is not a folder') });
  });

  it("refuses a folder inside the runner's _work", async () => {
    await mkdir(join(root, '_work', '_temp'), { recursive: true });
    await expect(openPrivateDir(join(root, '_work', '_temp', 'state'), uid, join(root, '_work'))).rejects.toMatchObject({
      code: 'STATE_DIR_UNSAFE',
      message: expect.stringContaining("inside the runner's _work"),
    });
  });
});

describe('private files', () => {
  it('are written atomically with mode 0600 and read back', async () => {
    const dir = await openPrivateDir(join(root, 'state'), uid);
    await writePrivateFile(dir, 'a.key', 'one');
    await writePrivateFile(dir, 'a.key', 'two');
    await appendPrivateFile(dir, 'a.steps', 'x\n');
    await appendPrivateFile(dir, 'a.steps', 'y\n');
    expect((await readPrivateFile(dir, 'a.key'))?.toString()).toBe('two');
    expect((await readPrivateFile(dir, 'a.steps'))?.toString()).toBe('x\ny\n');
    expect((await lstat(join(dir.path, 'a.key'))).mode & 0o777).toBe(0o600);
    expect((await lstat(join(dir.path, 'a.steps'))).mode & 0o777).toBe(0o600);
    expect(await readPrivateFile(dir, 'none')).toBeUndefined();
  });

  it('refuse a symbolic link (read, append), and appending does not write through it', async () => {
    const dir = await openPrivateDir(join(root, 'state'), uid);
    await writeFile(join(root, 'outside'), 'runner file');
    await symlink(join(root, 'outside'), join(dir.path, 'a.key'));
    await symlink(join(root, 'outside'), join(dir.path, 'a.steps'));
    await expect(readPrivateFile(dir, 'a.key')).rejects.toMatchObject({ code: 'STATE_DIR_UNSAFE', message: expect.stringContaining('symbolic link') });
    await expect(appendPrivateFile(dir, 'a.steps', 'start x\n')).rejects.toMatchObject({ code: 'STATE_DIR_UNSAFE' });
    expect(await readFile(join(root, 'outside'), 'utf8')).toBe('runner file');
  });

  it('refuse a file with a second hard link or with access for others', async () => {
    const dir = await openPrivateDir(join(root, 'state'), uid);
    await writePrivateFile(dir, 'a.key', 'k');
    await link(join(dir.path, 'a.key'), join(root, 'copy'));
    await expect(readPrivateFile(dir, 'a.key')).rejects.toMatchObject({ message: expect.stringContaining('has 2 hard links') });
    await writePrivateFile(dir, 'b.key', 'k');
    await chmod(join(dir.path, 'b.key'), 0o644);
    await expect(readPrivateFile(dir, 'b.key')).rejects.toMatchObject({ message: expect.stringContaining('has mode 0644') });
  });
});
