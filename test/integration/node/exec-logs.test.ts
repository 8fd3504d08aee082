import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, waitFor, type TestNamespace } from '../../cluster/harness.js';
import { adminCoreApi, adminKubeClient, execText, IMAGES, realNodeName, realNodePod, TextSink, waitForRunningPod } from './real-node.js';

describe('real node: a Debian job pod, exec and logs', () => {
  const core = adminCoreApi();
  let kube: KubeClient;
  let ns: TestNamespace;
  let node: string;

  beforeAll(async () => {
    node = await realNodeName(core);
    kube = await adminKubeClient();
    ns = await createTestNamespace('node-exec');
    await core.createNamespacedPod({
      namespace: ns.name,
      body: realNodePod('job', {
        containers: [{ name: 'job', image: IMAGES.debian, command: ['tail', '-f', '/dev/null'] }],
      }),
    });
    await waitForRunningPod(core, ns.name, 'job');
  });
  afterAll(async () => {
    kube?.close();
    await ns?.delete();
  });

  function run(command: string[], stdin?: Buffer | string) {
    return execText(kube, { namespace: ns.name, pod: 'job', container: 'job' }, command, stdin);
  }

  it('runs the Debian image on the real node', async () => {
    const pod = await core.readNamespacedPod({ name: 'job', namespace: ns.name });
    expect(pod.spec?.nodeName).toBe(node);
    expect(pod.status?.containerStatuses?.[0]?.image).toBe(IMAGES.debian);
    const release = await run(['cat', '/etc/debian_version']);
    expect(release).toMatchObject({ exitCode: 0, stderr: '' });
    expect(release.stdout).toMatch(/^12\.\d+\n$/);
  });

  it('returns stdout, stderr and the real non-zero exit code of an exec', async () => {
    const result = await run(['sh', '-c', 'echo to-stdout; echo to-stderr >&2; exit 3']);
    expect(result).toEqual({ exitCode: 3, stdout: 'to-stdout\n', stderr: 'to-stderr\n' });
  });

  it('reports a missing command as a failed exec, not as success', async () => {
    const result = await run(['sh', '-c', 'no-such-command']);
    expect(result.exitCode).toBe(127);
    expect(result.stderr).toContain('not found');
  });

  it('unpacks a tar archive sent on stdin, as the hook copies files into a job container', async () => {
    const src = mkdtempSync(join(tmpdir(), 'zrh-tar-'));
    try {
      writeFileSync(join(src, 'step.sh'), '#!/bin/sh\necho from the copied script\n', { mode: 0o755 });
      const archive = execFileSync('tar', ['-c', '-C', src, '.']);
      const unpack = await run(['sh', '-c', 'mkdir -p /__w/_temp && tar -x -C /__w/_temp'], archive);
      expect(unpack).toEqual({ exitCode: 0, stdout: '', stderr: '' });
      const ran = await run(['/__w/_temp/step.sh']);
      expect(ran).toEqual({ exitCode: 0, stdout: 'from the copied script\n', stderr: '' });
    } finally {
      rmSync(src, { recursive: true, force: true });
    }
  });

  it('streams pods/log while the container keeps running', async () => {
    await core.createNamespacedPod({
      namespace: ns.name,
      body: realNodePod('logger', {
        containers: [
          {
            name: 'logger',
            image: IMAGES.busybox,
            command: ['sh', '-c', 'echo first; until [ -e /tmp/go ]; do sleep 0.2; done; echo second; exec tail -f /dev/null'],
          },
        ],
      }),
    });
    await waitForRunningPod(core, ns.name, 'logger');

    const abort = new AbortController();
    const out = new TextSink();
    const following = kube
      .logs({ namespace: ns.name, pod: 'logger', container: 'logger', follow: true, signal: abort.signal }, out)
      .catch((error: unknown) => (abort.signal.aborted ? '' : Promise.reject(error)));
    try {
      await waitFor(
        '"first" in the followed log',
        async () => out.text,
        (t) => t.includes('first\n'),
      );
      expect(out.text).not.toContain('second');
      // Only now does the container write its second line: it must arrive on the same stream.
      await kube.exec({ namespace: ns.name, pod: 'logger', container: 'logger', command: ['touch', '/tmp/go'] });
      await waitFor(
        '"second" in the followed log',
        async () => out.text,
        (t) => t.includes('second\n'),
      );
      expect(out.text).toBe('first\nsecond\n');
    } finally {
      abort.abort();
      await following;
    }
  });
});
