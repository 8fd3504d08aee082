import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeResponse } from './response.js';

let root: string;
let file: string;
let outside: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'zrh-response-'));
  file = join(root, 'response.json');
  outside = join(root, 'runner-file');
  await writeFile(outside, 'runner-side content');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const mkfifo = (path: string) => expect(spawnSync('mkfifo', [path]).status).toBe(0);
const refused = (why: string) => ({ code: 'RESPONSE_FILE_UNSAFE', message: expect.stringContaining(`is no longer the file the runner created (${why})`) });

describe('writeResponse', () => {
  it("replaces the content of the runner's empty file", async () => {
    await writeFile(file, 'older and longer content');
    await writeResponse(file, {});
    expect(await readFile(file, 'utf8')).toBe('{}');
  });

  it('refuses a symbolic link and writes nothing through it', async () => {
    await symlink(outside, file);
    await expect(writeResponse(file, {})).rejects.toMatchObject(refused('it is a symbolic link'));
    expect(await readFile(outside, 'utf8')).toBe('runner-side content');
  });

  it('refuses a FIFO without a reader at once (no hang)', async () => {
    mkfifo(file);
    await expect(writeResponse(file, {})).rejects.toMatchObject(refused('it is a FIFO or socket'));
  });

  it('refuses a FIFO with a reader and sends it nothing', async () => {
    mkfifo(file);
    const reader = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      await expect(writeResponse(file, {})).rejects.toMatchObject(refused('it is a FIFO'));
      // The hook opened it (so there was a writer) and closed it again without a byte: end of file.
      expect(readSync(reader, Buffer.alloc(16))).toBe(0);
    } finally {
      closeSync(reader);
    }
  });

  it('refuses a hard link to another file and leaves that file alone', async () => {
    await link(outside, file);
    await expect(writeResponse(file, {})).rejects.toMatchObject(refused('it has 2 hard links'));
    expect(await readFile(outside, 'utf8')).toBe('runner-side content');
  });

  it('refuses a directory', async () => {
    await mkdir(file);
    await expect(writeResponse(file, {})).rejects.toMatchObject(refused('it is a directory'));
  });

  it('refuses a file of another user', async () => {
    await writeFile(file, '');
    const uid = (await stat(file)).uid;
    await expect(writeResponse(file, {}, uid + 1)).rejects.toMatchObject(refused(`it is owned by uid ${uid}, not by the hook's uid ${uid + 1}`));
    expect(await readFile(file, 'utf8')).toBe('');
  });

  it('does not create a file that is gone', async () => {
    await expect(writeResponse(file, {})).rejects.toMatchObject(refused('it no longer exists'));
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
