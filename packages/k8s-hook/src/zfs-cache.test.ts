import { ExecError, KubeConnectionError, type ExecOptions } from '@zfs-runner-hooks/kube';
import { FakeKubeClient } from '@zfs-runner-hooks/kube/testing';
import { describe, expect, it } from 'vitest';
import { runInJobContainer } from './zfs-cache.js';

const anyExec = () => true;

describe('runInJobContainer', () => {
  it('runs the command in the job container and hands back its exit code and error output', async () => {
    const client = new FakeKubeClient();
    const seen: ExecOptions[] = [];
    client.onExec(anyExec, (options) => {
      seen.push(options);
      return { exitCode: 1, stderr: "sync: invalid option -- 'f'\nTry 'sync --help' for more information.\n" };
    });
    const signal = new AbortController().signal;
    const result = await runInJobContainer(client, 'ci', 'runner-1-job', signal)(['sync', '-f', '/CONAN_HOME']);
    expect(result).toEqual({ exitCode: 1, stderr: "sync: invalid option -- 'f'\nTry 'sync --help' for more information.\n" });
    expect(seen).toMatchObject([{ namespace: 'ci', pod: 'runner-1-job', container: 'job', command: ['sync', '-f', '/CONAN_HOME'], signal }]);
  });

  it('keeps only the start of a long error output', async () => {
    const client = new FakeKubeClient();
    client.onExec(anyExec, { exitCode: 1, stderr: 'x'.repeat(100_000) });
    const { stderr } = await runInJobContainer(client, 'ci', 'p', new AbortController().signal)(['sync']);
    expect(stderr.length).toBeLessThanOrEqual(5000);
  });

  it('passes on an exec that could not run', async () => {
    const client = new FakeKubeClient();
    client.onExec(anyExec, { error: new ExecError('EXEC_FAILED', 'container "job" not found in pod p') });
    await expect(runInJobContainer(client, 'ci', 'p', new AbortController().signal)(['sync'])).rejects.toThrow('container "job" not found');
  });

  it('tries a command once more after a connection failure around its start, with its deadline, and no more', async () => {
    const seen: ExecOptions[] = [];
    const record = (outcome: { exitCode?: number; error?: Error }) => (options: ExecOptions) => (seen.push(options), outcome);
    const client = new FakeKubeClient();
    client
      .onExec(
        anyExec,
        record({
          error: new KubeConnectionError('https://127.0.0.1:6443', 'cannot reach the Kubernetes API at https://127.0.0.1:6443 (ECONNRESET): read ECONNRESET'),
        }),
        { times: 1 },
      )
      .onExec(anyExec, record({ exitCode: 0 }));
    await expect(runInJobContainer(client, 'ci', 'p', new AbortController().signal)(['sync'], { timeoutMs: 5000 })).resolves.toEqual({
      exitCode: 0,
      stderr: '',
    });
    expect(seen.map((o) => o.timeoutMs)).toEqual([5000, 5000]);

    seen.length = 0;
    const down = new FakeKubeClient();
    down.onExec(
      anyExec,
      record({ error: new KubeConnectionError('https://127.0.0.1:6443', 'cannot reach the Kubernetes API at https://127.0.0.1:6443 (ECONNREFUSED)') }),
    );
    await expect(runInJobContainer(down, 'ci', 'p', new AbortController().signal)(['sync'])).rejects.toThrow('ECONNREFUSED');
    expect(seen).toHaveLength(2);
  });
});
