import { describe, expect, it } from 'vitest';
import { runnerPod, WORK } from '../testing/fixtures.js';
import { chooseWorkspaceMode, isSingleNode } from './mode.js';

const ephemeral = (accessModes: string[]) => ({ ephemeral: { volumeClaimTemplate: { spec: { accessModes } } } });

describe('chooseWorkspaceMode', () => {
  it('picks volume for ARC ephemeral work claims, named <pod>-<volume>', () => {
    expect(chooseWorkspaceMode({ runnerPod: runnerPod(ephemeral(['ReadWriteOnce'])), workDir: WORK, configured: 'auto' })).toMatchObject({
      mode: 'volume',
      claimName: 'arc-runner-abc12-work',
      claimSubPath: '',
      accessModes: ['ReadWriteOnce'],
    });
  });

  it('picks volume for a PVC mounted above _work, with the subPath of _work', () => {
    const pod = runnerPod({ persistentVolumeClaim: { claimName: 'shared' } }, '/home/runner');
    expect(chooseWorkspaceMode({ runnerPod: pod, workDir: WORK, configured: 'auto' })).toMatchObject({
      mode: 'volume',
      claimName: 'shared',
      claimSubPath: '_work',
    });
  });

  it.each([
    ['an emptyDir work volume', runnerPod({ emptyDir: {} })],
    ['no work volume (kubernetes-novolume)', runnerPod({ emptyDir: {} }, '/tmp')],
    ['a ReadWriteOncePod claim', runnerPod(ephemeral(['ReadWriteOncePod']))],
  ])('picks copy for %s', (_name, pod) => {
    expect(chooseWorkspaceMode({ runnerPod: pod, workDir: WORK, configured: 'auto' }).mode).toBe('copy');
  });

  it('follows ZRH_WORKSPACE_MODE and ACTIONS_RUNNER_CLAIM_NAME', () => {
    const pod = runnerPod(ephemeral(['ReadWriteOnce']));
    expect(chooseWorkspaceMode({ runnerPod: pod, workDir: WORK, configured: 'copy' }).mode).toBe('copy');
    expect(chooseWorkspaceMode({ runnerPod: runnerPod({ emptyDir: {} }), workDir: WORK, configured: 'auto', claimOverride: 'mine' })).toMatchObject({
      mode: 'volume',
      claimName: 'mine',
      claimSubPath: '',
    });
    expect(chooseWorkspaceMode({ runnerPod: runnerPod({ emptyDir: {} }), workDir: WORK, configured: 'volume' })).toMatchObject({
      mode: 'volume',
      claimName: 'arc-runner-abc12-work',
    });
  });
});

describe('isSingleNode', () => {
  it.each([
    [undefined, true],
    [['ReadWriteOnce'], true],
    [['ReadWriteMany'], false],
  ])('%j → %s', (modes, single) => expect(isSingleNode(modes)).toBe(single));
});
