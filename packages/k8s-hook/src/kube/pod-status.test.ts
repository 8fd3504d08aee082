import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { assessPod } from './pod-status.js';

const pod = (status: V1Pod['status'], containers = ['job', 'redis']): V1Pod => ({ spec: { containers: containers.map((name) => ({ name })) }, status });
const waiting = (name: string, reason: string, message?: string) => ({
  name,
  image: `${name}:1`,
  ready: false,
  restartCount: 0,
  imageID: '',
  state: { waiting: { reason, ...(message ? { message } : {}) } },
});
const running = (name: string, ready = true) => ({ name, image: `${name}:1`, ready, restartCount: 0, imageID: '', state: { running: {} } });

describe('assessPod', () => {
  it('is done when the pod is Ready', () => {
    expect(
      assessPod(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [running('job'), running('redis')] }), {
        kind: 'ready',
      }),
    ).toEqual({ kind: 'done' });
  });

  it.each(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'ErrImageNeverPull'])(
    'fails fast on %s with the kubelet message',
    (reason) => {
      const outcome = assessPod(pod({ phase: 'Pending', containerStatuses: [waiting('job', reason, 'pull access denied for nope')] }), { kind: 'ready' });
      expect(outcome).toEqual({ kind: 'failed', reason: `container "job" (job:1): ${reason}: pull access denied for nope` });
    },
  );

  it("reports the scheduler's message for an unschedulable pod", () => {
    const outcome = assessPod(
      pod({
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient cpu.' }],
      }),
      { kind: 'ready' },
    );
    expect(outcome).toMatchObject({ kind: 'pending', unschedulable: '0/3 nodes are available: 3 Insufficient cpu.' });
  });

  it('fails when a service exits before the pod is ready', () => {
    const redis = { ...running('redis', false), state: { terminated: { exitCode: 1, reason: 'Error' } } };
    expect(assessPod(pod({ phase: 'Running', containerStatuses: [running('job'), redis] }), { kind: 'ready' })).toEqual({
      kind: 'failed',
      reason: 'container "redis" exited with code 1 (Error)',
    });
  });

  it('reports progress while containers are created', () => {
    expect(
      assessPod(
        pod({
          phase: 'Pending',
          conditions: [{ type: 'PodScheduled', status: 'True' }],
          containerStatuses: [waiting('job', 'ContainerCreating'), waiting('redis', 'ContainerCreating')],
        }),
        { kind: 'ready' },
      ),
    ).toEqual({
      kind: 'pending',
      progress: 'Pending: job ContainerCreating, redis ContainerCreating',
    });
  });

  it('is done when the awaited step container terminated, whatever its code', () => {
    const step = { ...running('step', false), state: { terminated: { exitCode: 3 } } };
    expect(assessPod(pod({ phase: 'Failed', containerStatuses: [step] }, ['step']), { kind: 'terminated', container: 'step' })).toEqual({ kind: 'done' });
    expect(assessPod(pod({ phase: 'Failed', containerStatuses: [step] }, ['step']), { kind: 'started', container: 'step' })).toEqual({ kind: 'done' });
  });
});
