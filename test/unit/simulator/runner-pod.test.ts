import { describe, expect, it } from 'vitest';
import { buildRunnerPod, hostPathOfVolume } from '../../simulator/runner-pod.js';

describe('buildRunnerPod', () => {
  it('gives a volume-mode runner an ephemeral RWO work claim at /home/runner/_work, like ARC', () => {
    const pod = buildRunnerPod({ name: 'runner-1', namespace: 'ci', mode: 'volume' });
    expect(pod.spec?.volumes).toEqual([
      {
        name: 'work',
        ephemeral: {
          volumeClaimTemplate: {
            spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'csi-hostpath', resources: { requests: { storage: '1Gi' } } },
          },
        },
      },
    ]);
    const runner = pod.spec?.containers[0];
    expect(runner?.volumeMounts).toEqual([{ name: 'work', mountPath: '/home/runner/_work' }]);
    expect(runner?.image).toBe('zrh.local/busybox:1');
    expect(runner?.env).toContainEqual({ name: 'ACTIONS_RUNNER_CONTAINER_HOOKS', value: '/home/runner/k8s/index.js' });
    expect(runner?.env).toContainEqual({ name: 'ACTIONS_RUNNER_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
  });

  it('gives a copy-mode runner no work volume', () => {
    const pod = buildRunnerPod({ name: 'runner-2', namespace: 'ci', mode: 'copy' });
    expect(pod.spec?.volumes).toBeUndefined();
    expect(pod.spec?.containers[0]?.volumeMounts).toBeUndefined();
  });

  it('keeps the runner off kwok nodes when asked for a real node', () => {
    const pod = buildRunnerPod({ name: 'runner-3', namespace: 'ci', mode: 'copy', placement: 'real' });
    expect(pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'type', operator: 'NotIn', values: ['kwok'] }] },
    ]);
    expect(buildRunnerPod({ name: 'r', namespace: 'ci', mode: 'copy' }).spec?.affinity).toBeUndefined();
  });
});

describe('hostPathOfVolume', () => {
  it('reads the folder the host-path driver published', () => {
    expect(
      hostPathOfVolume({ spec: { csi: { driver: 'hostpath.csi.k8s.io', volumeHandle: 'pvc-1', volumeAttributes: { hostPath: '/s/volumes/pvc-1' } } } }),
    ).toBe('/s/volumes/pvc-1');
    expect(hostPathOfVolume({ spec: {} })).toBeUndefined();
  });
});
