import type { V1Pod } from '@kubernetes/client-node';
import { apiError, FakeKubeClient, type FakeObject } from '@zfs-runner-hooks/kube/testing';
import { describe, expect, it, vi } from 'vitest';
import { memoryLogger } from '../testing/memory-logger.js';
import { waitForPod } from './wait-pod.js';

const status = (p: string, extra: Partial<NonNullable<V1Pod['status']>> = {}): V1Pod['status'] => ({ phase: p, ...extra });
const base = { namespace: 'ci', name: 'job-pod', goal: { kind: 'ready' } as const, timeoutSeconds: 60, what: 'Job pod' };
const containerState = (state: object, ready = false) => ({ containerStatuses: [{ name: 'job', image: 'i', imageID: '', ready, restartCount: 0, state }] });
const readyStatus = status('Running', { conditions: [{ type: 'Ready', status: 'True' }] });

/** A cluster with the job pod just created; `set` changes its status as the kubelet would. */
function cluster() {
  const fake = new FakeKubeClient();
  const created = fake.put('pods', { metadata: { name: 'job-pod', namespace: 'ci' }, spec: { containers: [{ name: 'job' }] } }, 'ADDED') as V1Pod;
  const set = (s: V1Pod['status']) => fake.put('pods', { ...(fake.store.get('pods/ci/job-pod') as FakeObject), status: s }) as V1Pod;
  const calls = () => fake.calls.map((c) => `${c.verb} ${c.plural}`);
  return { fake, created, set, calls, resourceVersion: created.metadata?.resourceVersion };
}

describe('waitForPod', () => {
  it('logs each new state and resolves when the pod is ready', async () => {
    const { fake, set, calls, resourceVersion } = cluster();
    set(status('Pending', { conditions: [{ type: 'PodScheduled', status: 'True' }] }));
    set(status('Pending', containerState({ waiting: { reason: 'ContainerCreating' } })));
    set(readyStatus);
    const log = memoryLogger();
    await expect(waitForPod(fake, { ...base, resourceVersion, log })).resolves.toMatchObject({ status: readyStatus });
    expect(log.lines).toEqual(['Job pod job-pod: Pending: scheduled', 'Job pod job-pod: Pending: job ContainerCreating']);
    expect(calls()).toEqual(['watch pods']);
  });

  it('fails at once on an unschedulable pod, with the Warning events', async () => {
    const { fake, set, resourceVersion } = cluster();
    set(
      status('Pending', {
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient memory.' }],
      }),
    );
    fake.put('events', {
      metadata: { name: 'job-pod.1', namespace: 'ci' },
      involvedObject: { name: 'job-pod' },
      type: 'Warning',
      reason: 'FailedScheduling',
      count: 2,
      message: '0/1 nodes are available: 1 Insufficient memory.',
    });
    fake.put('events', {
      metadata: { name: 'other.1', namespace: 'ci' },
      involvedObject: { name: 'other' },
      type: 'Warning',
      reason: 'BackOff',
      message: 'not this pod',
    });
    await expect(waitForPod(fake, { ...base, resourceVersion, log: memoryLogger() })).rejects.toThrowError(
      'Job pod "job-pod" in namespace "ci" cannot be scheduled: 0/1 nodes are available: 1 Insufficient memory.\nWarning events:\n  FailedScheduling (x2): 0/1 nodes are available: 1 Insufficient memory.',
    );
  });

  it('watches again from where it was when a stream ends, and fails when the pod was deleted meanwhile', async () => {
    const { fake, calls, resourceVersion } = cluster();
    const waiting = waitForPod(fake, { ...base, resourceVersion, log: memoryLogger() });
    await vi.waitFor(() => expect(fake.openWatches('pods')).toBe(1));
    fake.endWatches('pods');
    fake.remove('pods', 'ci', 'job-pod');
    await expect(waiting).rejects.toThrowError('was deleted while waiting for it');
    expect(calls()).toEqual(['watch pods', 'watch pods', 'list events']);
    expect(fake.calls[1]?.resourceVersion).toBe(resourceVersion);
  });

  it('lists again when its version is gone, and fails when the list no longer has the pod', async () => {
    const { fake, set, calls, resourceVersion } = cluster();
    const waiting = waitForPod(fake, { ...base, resourceVersion, log: memoryLogger() });
    await vi.waitFor(() => expect(fake.openWatches('pods')).toBe(1));
    set(status('Pending'));
    // The watch breaks with 410 Gone; meanwhile the pod goes, unseen by any watch.
    fake.breakWatches('pods', apiError(410));
    fake.remove('pods', 'ci', 'job-pod');
    fake.compact();
    await expect(waiting).rejects.toThrowError('Job pod "job-pod" in namespace "ci" was deleted while waiting for it');
    expect(calls()).toEqual(['watch pods', 'list pods', 'list events']);
  });

  it('a stream that ends is never an outcome: a pod that becomes ready on the next stream is ready', async () => {
    const { fake, set, calls, resourceVersion } = cluster();
    const waiting = waitForPod(fake, { ...base, resourceVersion, log: memoryLogger() });
    await vi.waitFor(() => expect(fake.openWatches('pods')).toBe(1));
    set(status('Pending'));
    fake.endWatches('pods');
    set(readyStatus);
    await expect(waiting).resolves.toMatchObject({ status: readyStatus });
    expect(calls()).toEqual(['watch pods', 'watch pods']);
  });

  it('fails with POD_TIMEOUT after the deadline', async () => {
    const { fake, set, resourceVersion } = cluster();
    set(status('Pending'));
    await expect(waitForPod(fake, { ...base, resourceVersion, timeoutSeconds: 0, log: memoryLogger() })).rejects.toMatchObject({ code: 'POD_TIMEOUT' });
  });

  it('resolves with a pod seen earlier that already meets the goal, without watching for a further change', async () => {
    const { fake, set, calls } = cluster();
    const terminated = set(status('Running', containerState({ terminated: { exitCode: 0 } })));
    await expect(waitForPod(fake, { ...base, goal: { kind: 'terminated', container: 'job' }, seen: terminated, log: memoryLogger() })).resolves.toBe(
      terminated,
    );
    expect(calls()).toEqual([]);
  });

  it('watches from the version of a pod seen earlier that does not meet the goal yet', async () => {
    const { fake, set, calls } = cluster();
    const running = set(status('Running', containerState({ running: {} }, true)));
    const terminated = set(status('Running', containerState({ terminated: { exitCode: 3 } })));
    await expect(waitForPod(fake, { ...base, goal: { kind: 'terminated', container: 'job' }, seen: running, log: memoryLogger() })).resolves.toEqual(
      terminated,
    );
    expect(calls()).toEqual(['watch pods']);
    expect(fake.calls[0]?.resourceVersion).toBe(running.metadata?.resourceVersion);
  });
});
