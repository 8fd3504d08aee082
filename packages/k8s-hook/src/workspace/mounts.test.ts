import { describe, expect, it } from 'vitest';
import { jobPodWorkspace } from './mounts.js';

describe('jobPodWorkspace', () => {
  it('mounts the work claim at its subPath and pins the pod to the recorded node', () => {
    const pw = jobPodWorkspace({ claimName: 'shared', claimSubPath: '_work', pinnedNode: 'node-a' });
    expect(pw.volumes).toEqual([{ name: 'work', persistentVolumeClaim: { claimName: 'shared' } }]);
    expect(pw.mounts.map((x) => [x.mountPath, x.subPath, x.readOnly])).toEqual([
      ['/__w', '_work', undefined],
      ['/__e', '_work/_externals', true],
      ['/github/home', '_work/_temp/_github_home', undefined],
      ['/github/workflow', '_work/_temp/_github_workflow', undefined],
    ]);
    expect(pw.nodeTerm).toEqual({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-a'] }] });
  });

  it('gives a pod without a work claim an emptyDir with the same layout, on any node', () => {
    const pw = jobPodWorkspace({});
    expect(pw.volumes).toEqual([{ name: 'work', emptyDir: {} }]);
    expect(pw.mounts.map((x) => x.subPath)).toEqual([undefined, '_externals', '_temp/_github_home', '_temp/_github_workflow']);
    expect(pw.nodeTerm).toBeUndefined();
  });
});
