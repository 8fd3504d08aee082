import type { V1Pod } from '@kubernetes/client-node';
import { KubeApiError } from '@zfs-runner-hooks/kube';
import { describe, expect, it } from 'vitest';
import { fakeClient, memoryLogger } from '../testing/fake-client.js';
import { waitForPod } from './wait-pod.js';

const phase = (p: string, extra: Partial<V1Pod['status']> = {}, rv = '2'): V1Pod => ({ metadata: { name: 'job-pod', resourceVersion: rv }, spec: { containers: [{ name: 'job' }] }, status: { phase: p, ...extra } });
const base = { namespace: 'ci', name: 'job-pod', goal: { kind: 'ready' } as const, resourceVersion: '1', timeoutSeconds: 60, what: 'Job pod' };

describe('waitForPod', () => {
  it('logs each new state and resolves when the pod is ready', async () => {
    const log = memoryLogger();
    const ready = phase('Running', { conditions: [{ type: 'Ready', status: 'True' }] }, '4');
    const client = fakeClient({
      watch: [
        [
          { type: 'MODIFIED', object: phase('Pending', { conditions: [{ type: 'PodScheduled', status: 'True' }] }) },
          { type: 'MODIFIED', object: phase('Pending', { containerStatuses: [{ name: 'job', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] }, '3') },
          { type: 'MODIFIED', object: ready },
        ],
      ],
    });
    await expect(waitForPod(client, { ...base, log })).resolves.toBe(ready);
    expect(log.lines).toEqual(['Job pod job-pod: Pending: scheduled', 'Job pod job-pod: Pending: job ContainerCreating']);
    expect(client.calls).toEqual(['watch']);
  });

  it('fails at once on an unschedulable pod, with the Warning events', async () => {
    const client = fakeClient({
      watch: [[{ type: 'MODIFIED', object: phase('Pending', { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient memory.' }] }) }]],
      events: [{ type: 'Warning', reason: 'FailedScheduling', count: 2, message: '0/1 nodes are available: 1 Insufficient memory.' }],
    });
    await expect(waitForPod(client, { ...base, log: memoryLogger() })).rejects.toThrowError(
      'Job pod "job-pod" in namespace "ci" cannot be scheduled: 0/1 nodes are available: 1 Insufficient memory.\nWarning events:\n  FailedScheduling (x2): 0/1 nodes are available: 1 Insufficient memory.',
    );
  });

  it('watches again when a stream ends, and fails when the pod was deleted', async () => {
    const client = fakeClient({ watch: [[], [{ type: 'DELETED', object: phase('Running') }]] });
    await expect(waitForPod(client, { ...base, log: memoryLogger() })).rejects.toThrowError('was deleted while waiting for it');
    expect(client.calls).toEqual(['watch', 'watch', 'list events']);
  });

  it('lists again when its version is gone, and fails when the list no longer has the pod', async () => {
    const gone = new KubeApiError('GONE', 'too old resource version', { status: 410, reason: 'Expired', serverMessage: undefined, verb: 'watch', resource: 'pods', group: '', namespace: 'ci', name: undefined, causes: [] });
    const client = fakeClient({ watch: [[{ type: 'MODIFIED', object: phase('Pending') }], gone], pods: [] });
    await expect(waitForPod(client, { ...base, log: memoryLogger() })).rejects.toThrowError('Job pod "job-pod" in namespace "ci" was deleted while waiting for it');
    expect(client.calls).toEqual(['watch', 'watch', 'list pods', 'list events']);
  });

  it('a stream that ends is never an outcome: a pod that becomes ready on the next stream is ready', async () => {
    const ready = phase('Running', { conditions: [{ type: 'Ready', status: 'True' }] }, '4');
    const client = fakeClient({ watch: [[{ type: 'MODIFIED', object: phase('Pending') }], [], [{ type: 'MODIFIED', object: ready }]] });
    await expect(waitForPod(client, { ...base, log: memoryLogger() })).resolves.toBe(ready);
    expect(client.calls).toEqual(['watch', 'watch', 'watch']);
  });

  it('fails with POD_TIMEOUT after the deadline', async () => {
    const client = fakeClient({ watch: [[{ type: 'MODIFIED', object: phase('Pending') }]], get: phase('Pending') });
    await expect(waitForPod(client, { ...base, timeoutSeconds: 0, log: memoryLogger() })).rejects.toMatchObject({ code: 'POD_TIMEOUT' });
  });

  it('resolves with a pod seen earlier that already meets the goal, without watching for a further change', async () => {
    const terminated = phase('Running', { containerStatuses: [{ name: 'job', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0 } } }] }, '7');
    const client = fakeClient({ watch: [[]] });
    const { resourceVersion: _, ...rest } = base;
    await expect(waitForPod(client, { ...rest, goal: { kind: 'terminated', container: 'job' }, seen: terminated, log: memoryLogger() })).resolves.toBe(terminated);
    expect(client.calls).toEqual([]);
  });

  it('watches from the version of a pod seen earlier that does not meet the goal yet', async () => {
    const running = phase('Running', { containerStatuses: [{ name: 'job', image: 'i', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] }, '7');
    const terminated = phase('Running', { containerStatuses: [{ name: 'job', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 3 } } }] }, '8');
    const client = fakeClient({ watch: [[{ type: 'MODIFIED', object: terminated }]] });
    const { resourceVersion: _, ...rest } = base;
    await expect(waitForPod(client, { ...rest, goal: { kind: 'terminated', container: 'job' }, seen: running, log: memoryLogger() })).resolves.toBe(terminated);
    expect(client.calls).toEqual(['watch']);
  });
});
