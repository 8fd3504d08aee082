import { KubeConnectionError, type ExecOptions } from '@zfs-runner-hooks/kube';
import { describe, expect, it } from 'vitest';
import { fakeClient } from './testing/fake-client.js';
import { runInJobContainer } from './zfs-cache.js';

describe('runInJobContainer', () => {
  it('runs the command in the job container and hands back its exit code and error output', async () => {
    const client = fakeClient({});
    const seen: ExecOptions[] = [];
    client.exec = async (options) => {
      seen.push(options);
      options.stderr?.write("sync: invalid option -- 'f'\n");
      options.stderr?.write("Try 'sync --help' for more information.\n");
      return { exitCode: 1 };
    };
    const signal = new AbortController().signal;
    const result = await runInJobContainer(client, 'ci', 'runner-1-job', signal)(['sync', '-f', '/CONAN_HOME']);
    expect(result).toEqual({ exitCode: 1, stderr: "sync: invalid option -- 'f'\nTry 'sync --help' for more information.\n" });
    expect(seen).toMatchObject([{ namespace: 'ci', pod: 'runner-1-job', container: 'job', command: ['sync', '-f', '/CONAN_HOME'], signal }]);
  });

  it('keeps only the start of a long error output', async () => {
    const client = fakeClient({});
    client.exec = async (options) => {
      for (let i = 0; i < 100; i++) options.stderr?.write('x'.repeat(1000));
      return { exitCode: 1 };
    };
    const { stderr } = await runInJobContainer(client, 'ci', 'p', new AbortController().signal)(['sync']);
    expect(stderr.length).toBeLessThanOrEqual(5000);
  });

  it('passes on an exec that could not run', async () => {
    const client = fakeClient({});
    await expect(runInJobContainer(client, 'ci', 'p', new AbortController().signal)(['sync'])).rejects.toThrow('not scripted');
  });

  it('tries a command once more after a connection failure around its start, with its deadline, and no more', async () => {
    const client = fakeClient({});
    const seen: ExecOptions[] = [];
    client.exec = async (options) => {
      seen.push(options);
      if (seen.length === 1) throw new KubeConnectionError('https://127.0.0.1:6443', 'cannot reach the Kubernetes API at https://127.0.0.1:6443 (ECONNRESET): read ECONNRESET');
      return { exitCode: 0 };
    };
    const run = runInJobContainer(client, 'ci', 'p', new AbortController().signal);
    await expect(run(['sync'], { timeoutMs: 5000 })).resolves.toEqual({ exitCode: 0, stderr: '' });
    expect(seen.map((o) => o.timeoutMs)).toEqual([5000, 5000]);

    seen.length = 0;
    client.exec = async (options) => {
      seen.push(options);
      throw new KubeConnectionError('https://127.0.0.1:6443', 'cannot reach the Kubernetes API at https://127.0.0.1:6443 (ECONNREFUSED)');
    };
    await expect(run(['sync'])).rejects.toThrow('ECONNREFUSED');
    expect(seen).toHaveLength(2);
  });
});
