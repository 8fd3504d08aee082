import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ExecAbortedError, KubeConnectionError } from '@zfs-runner-hooks/kube';
import { FakeKubeClient } from '@zfs-runner-hooks/kube/testing';
import { extract, pack } from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import { copyBetweenPods, copyFromPod, localTar, untarCommand } from './tar.js';

describe('localTar', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps the whole archive for a reader that starts after tar has exited', async () => {
    dir = await mkdtemp(join(tmpdir(), 'zrh-tar-'));
    await writeFile(join(dir, 'a.txt'), 'x'.repeat(10_000));
    const tar = localTar(dir, ['a.txt']);
    await tar.done;
    await new Promise((r) => setTimeout(r, 100));
    let bytes = 0;
    for await (const chunk of tar.stream) bytes += (chunk as Buffer).length;
    expect(bytes).toBeGreaterThanOrEqual(10_240);
  });

  /** The members of a tar stream: name, type and link target, and all its bytes. */
  async function members(stream: Readable): Promise<{ list: string[]; bytes: Buffer }> {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    const parser = extract();
    stream.pipe(parser as unknown as NodeJS.WritableStream);
    const list: string[] = [];
    for await (const entry of parser) {
      list.push(`${entry.header.name} ${entry.header.type}${entry.header.linkname ? ` -> ${entry.header.linkname}` : ''}`);
      entry.resume();
    }
    return { list, bytes: Buffer.concat(chunks) };
  }

  it('archives a symlink the job may have planted as a link, reading nothing through it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'zrh-tar-'));
    const home = join(dir, 'home');
    await mkdir(join(home, '.ssh'), { recursive: true });
    await writeFile(join(home, '.ssh', 'id_rsa'), 'RUNNER PRIVATE KEY');
    await mkdir(join(dir, 'work', 'fc'), { recursive: true });
    await writeFile(join(dir, 'work', 'fc', 'set_output_1'), '');
    await symlink(home, join(dir, 'work', 'fc', 'x'));
    const tar = localTar(join(dir, 'work'), ['fc']);
    const [{ list, bytes }] = await Promise.all([members(tar.stream), tar.done]);
    expect(list.sort()).toEqual(['fc/ directory', 'fc/set_output_1 file', `fc/x symlink -> ${home}`]);
    expect(bytes.includes('RUNNER PRIVATE KEY')).toBe(false);
  });

  it('sends nothing when a folder above a path is a symlink (tar would follow it)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'zrh-tar-'));
    const home = join(dir, 'home');
    await mkdir(join(home, 'fc'), { recursive: true });
    await writeFile(join(home, 'fc', 'secret'), 'RUNNER SECRET');
    await mkdir(join(dir, 'work'));
    await symlink(home, join(dir, 'work', '_temp'));
    const tar = localTar(join(dir, 'work'), ['_temp/fc']);
    const chunks: Buffer[] = [];
    for await (const c of tar.stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).length).toBe(0);
    await expect(tar.done).rejects.toThrow(
      `Not sending _temp/fc from ${join(dir, 'work')}: _temp is a symbolic link or not a folder, and the hook reads nothing through a link`,
    );
  });

  it('reports a path tar cannot read', async () => {
    dir = await mkdtemp(join(tmpdir(), 'zrh-tar-'));
    const tar = localTar(dir, ['missing.txt']);
    tar.stream.resume();
    await expect(tar.done).rejects.toThrow(/tar could not read missing\.txt/);
  });
});

describe('untarCommand', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function runUntar(target: string, input: Buffer, path = process.env.PATH ?? '/usr/bin:/bin') {
    const [cmd, ...args] = untarCommand(target);
    return spawnSync(cmd as string, args, { input, env: { PATH: path } });
  }

  /** A `tar` that says it is `version` and records its arguments in `<dir>/args`. */
  async function fakeTar(version: string): Promise<string> {
    const bin = await mkdtemp(join(dir as string, 'bin-'));
    await writeFile(join(bin, 'tar'), `#!/bin/sh\nif [ "$1" = --version ]; then echo "${version}"; exit 0; fi\necho "$@" > "${dir}/args"\ncat > /dev/null\n`);
    await chmod(join(bin, 'tar'), 0o755);
    return `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  }

  it("with GNU tar, restores everything but the kubelet's folders at the archive root; other tars get plain options", async () => {
    dir = await mkdtemp(join(tmpdir(), 'zrh-untar-'));
    const w = join(dir, 'w');
    expect(runUntar(w, Buffer.from('x'), await fakeTar('tar (GNU tar) 1.34')).status).toBe(0);
    expect(await readFile(join(dir, 'args'), 'utf8')).toBe(
      `-xf - -C ${w} --anchored --no-recursion --exclude=_temp --exclude=_temp/_github_home --exclude=_temp/_github_workflow --exclude=_externals\n`,
    );
    expect(runUntar(w, Buffer.from('x'), await fakeTar('tar (busybox) 1.36.1')).status).toBe(0);
    expect(await readFile(join(dir, 'args'), 'utf8')).toBe(`-xf - -C ${w}\n`);
  });

  it("extracts the contents of the kubelet's folders, and folders of the same name deeper down in full", async () => {
    dir = await mkdtemp(join(tmpdir(), 'zrh-untar-'));
    const src = join(dir, 'src');
    await mkdir(join(src, '_temp', '_github_home'), { recursive: true });
    await mkdir(join(src, 'ws', '_temp'), { recursive: true });
    await writeFile(join(src, '_temp', '_github_home', 'h.txt'), 'home');
    await writeFile(join(src, 'ws', '_temp', 'w.txt'), 'deep');
    await chmod(join(src, 'ws', '_temp'), 0o700);
    const archive = spawnSync('tar', ['-cf', '-', '-C', src, '_temp', 'ws']).stdout;
    const out = join(dir, 'out');
    expect(runUntar(out, archive).status).toBe(0);
    await expect(readFile(join(out, '_temp', '_github_home', 'h.txt'), 'utf8')).resolves.toBe('home');
    await expect(readFile(join(out, 'ws', '_temp', 'w.txt'), 'utf8')).resolves.toBe('deep');
    expect((await stat(join(out, 'ws', '_temp'))).mode & 0o777).toBe(0o700);
  });

  it('extracts the archive into a new folder and consumes input after the archive', async () => {
    dir = await mkdtemp(join(tmpdir(), 'zrh-untar-'));
    await writeFile(join(dir, 'a.txt'), 'hello');
    const archive = spawnSync('tar', ['-cf', '-', '-C', dir, 'a.txt']).stdout;
    const result = runUntar(join(dir, 'out', 'deep'), Buffer.concat([archive, Buffer.alloc(1 << 20)]));
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(0);
    await expect(readFile(join(dir, 'out', 'deep', 'a.txt'), 'utf8')).resolves.toBe('hello');
  });

  it("reads all input even when tar fails, then exits with tar's status", async () => {
    dir = await mkdtemp(join(tmpdir(), 'zrh-untar-'));
    const result = runUntar(dir, Buffer.alloc(4 << 20, 'x'));
    expect(result.error).toBeUndefined();
    expect(result.status).not.toBe(0);
    expect(result.stderr.toString()).toMatch(/tar/);
  });
});

describe('copyFromPod', () => {
  const FC = '_temp/_runner_file_commands';
  const target = { namespace: 'ci', pod: 'job', container: 'job' };
  let root: string | undefined;
  afterEach(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** A client whose exec plays a job pod: writes `archive` and `stderr`, then exits with `exitCode`. */
  function podSending(archive: Buffer, exitCode: number, stderrText = ''): FakeKubeClient {
    return new FakeKubeClient().onExec(() => true, { stdout: archive, stderr: stderrText, exitCode });
  }

  async function tarOf(entries: readonly { name: string; type?: 'file' | 'symlink'; body?: string; linkname?: string }[]): Promise<Buffer> {
    const p = pack();
    const chunks: Buffer[] = [];
    p.on('data', (c: unknown) => chunks.push(c as Buffer));
    for (const e of entries) p.entry({ name: e.name, type: e.type ?? 'file', ...(e.linkname ? { linkname: e.linkname } : {}) }, e.body ?? '');
    p.finalize();
    await new Promise<void>((resolve) => p.on('end', () => resolve()));
    return Buffer.concat(chunks);
  }

  it("refuses a job pod's archive with a symbolic link and places none of it, not even the members before the link", async () => {
    root = await mkdtemp(join(tmpdir(), 'zrh-copy-from-'));
    const archive = await tarOf([
      { name: `${FC}/set_output_1`, body: 'a=1\n' },
      { name: `${FC}/set_env_1`, type: 'symlink', linkname: '/etc/passwd' },
    ]);
    const copy = copyFromPod(podSending(archive, 0), target, { dir: '/__w', allowed: [FC], root });
    await expect(copy).rejects.toThrow(/was refused: member "_temp\/_runner_file_commands\/set_env_1" is a symbolic link \(to "\/etc\/passwd"\)/);
    await expect(stat(join(root, FC))).rejects.toThrow();
  });

  it("blames a failing tar in the pod for a cut-off archive, with the pod's stderr cut to 8192 characters", async () => {
    root = await mkdtemp(join(tmpdir(), 'zrh-copy-from-'));
    const archive = (await tarOf([{ name: `${FC}/big`, body: 'y'.repeat(5000) }])).subarray(0, 2048);
    const copy = copyFromPod(podSending(archive, 2, 'e'.repeat(100_000)), target, { dir: '/__w', allowed: [FC], root });
    const err = (await copy.then(
      () => undefined,
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toMatch(/tar in the pod exited with 2: e+\. The job container needs `sh` and `tar`/);
    expect(err.message.match(/: (e+)\. /)?.[1]).toHaveLength(8192);
  });
});

describe('copyBetweenPods', () => {
  const job = { namespace: 'ci', pod: 'job', container: 'job' };
  const step = { namespace: 'ci', pod: 'step', container: 'zrh-io' };
  const resetError = () =>
    new KubeConnectionError('https://127.0.0.1:6443', 'cannot reach the Kubernetes API at https://127.0.0.1:6443 (ECONNRESET): read ECONNRESET');

  /**
   * A client whose source exec writes until it is stopped (as a big tar into a pipe nobody reads
   * would) and whose destination exec fails to start the first `destFailures` times.
   */
  function pods(destFailures: number): FakeKubeClient {
    const fake = new FakeKubeClient().onExec(
      (o) => o.pod === job.pod,
      async (o) => {
        for (let i = 0; i < 64 && !o.signal?.aborted; i++) {
          if (!o.stdout?.write(Buffer.alloc(64 * 1024))) await new Promise((r) => setTimeout(r, 5));
        }
        return o.signal?.aborted ? { hang: true } : { exitCode: 0 };
      },
    );
    if (destFailures > 0) fake.failNext('exec', 'pods', resetError(), { name: step.pod, times: destFailures });
    return fake.onExec((o) => o.pod === step.pod, { exitCode: 0 });
  }

  /** The execs in the order they started, each as how it ended. */
  function story(fake: FakeKubeClient): string[] {
    return fake.calls.map((c) => {
      const side = c.name === job.pod ? 'source' : 'destination';
      if (c.error instanceof ExecAbortedError) return `${side} stopped`;
      if (c.error instanceof KubeConnectionError) return `${side} failed to start`;
      if (c.error) return `${side} failed: ${String(c.error)}`;
      return side === 'source' ? 'source done' : `destination read ${c.stdin?.length} bytes`;
    });
  }

  it('stops the source when the destination fails, instead of leaving it blocked on the pipe, and blames the destination', async () => {
    const fake = pods(2);
    const err = (await copyBetweenPods(fake, job, '/__w', ['_temp'], step, '/__w').then(
      () => undefined,
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toMatch(/^Copying _temp from job:\/__w to step:\/__w failed: cannot reach the Kubernetes API .*ECONNRESET/);
    // Tried twice (a connection failure at the start), each time the source stopped.
    expect(story(fake)).toEqual(['source stopped', 'destination failed to start', 'source stopped', 'destination failed to start']);
  });

  it('runs the copy once more after a connection failure at the start of one of its execs', async () => {
    const fake = pods(1);
    await copyBetweenPods(fake, job, '/__w', ['_temp'], step, '/__w');
    expect(story(fake).filter((l) => l.startsWith('destination'))).toEqual(['destination failed to start', `destination read ${64 * 64 * 1024} bytes`]);
  });

  it('starts the source at once and the destination only when destinationReady resolves; the archive waits in the pipe', async () => {
    const fake = pods(0);
    let ready!: () => void;
    const destinationReady = new Promise<void>((r) => (ready = r));
    const copy = copyBetweenPods(fake, job, '/__w', ['_temp'], step, '/__w', undefined, destinationReady);
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.calls.map((c) => c.name)).toEqual([job.pod]);
    ready();
    await copy;
    expect(story(fake)).toEqual(['source done', `destination read ${64 * 64 * 1024} bytes`]);
  });

  it('stops the source and never starts the destination when destinationReady rejects', async () => {
    const fake = pods(0);
    const destinationReady = new Promise<void>((_, reject) => setTimeout(() => reject(new Error('the step pod never came up')), 20));
    const err = (await copyBetweenPods(fake, job, '/__w', ['_temp'], step, '/__w', undefined, destinationReady).then(
      () => undefined,
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toContain('the step pod never came up');
    expect(story(fake)).toEqual(['source stopped']);
  });
});
