import { FakeKubeClient } from '@zfs-runner-hooks/kube/testing';
import { describe, expect, it } from 'vitest';
import { errorCode } from '../../errors.js';
import type { ImageContainer } from '../../protocol/input.js';
import type { WorkspaceState } from '../../protocol/state.js';
import { memoryLogger } from '../../testing/memory-logger.js';
import { EXTERNALS, runnerPod, WORK } from '../../testing/fixtures.js';
import type { WorkspaceChoice } from '../mode.js';
import { planStepCopy } from '../step-files.js';
import { planWorkspaceState, workspaceFor, type WorkspaceIo } from './index.js';

const io = (config: Partial<WorkspaceIo['config']> = {}, client = new FakeKubeClient()): WorkspaceIo => ({
  client,
  log: memoryLogger(),
  signal: new AbortController().signal,
  config: { podTimeoutSeconds: 60, unschedulableGraceSeconds: 10, helperImage: undefined, useKubeScheduler: false, ...config },
});
const dirs = { workDir: WORK, externalsDir: EXTERNALS };
const volume: WorkspaceState = {
  mode: 'volume',
  workDir: WORK,
  externalsDir: EXTERNALS,
  claimName: 'w',
  claimSubPath: '',
  copiedActions: [],
  copiedExternals: [],
};
const copy: WorkspaceState = { mode: 'copy', workDir: WORK, externalsDir: EXTERNALS, copiedActions: [], copiedExternals: [] };
const container: ImageContainer = {
  image: 'node:20',
  workingDirectory: '/__w/repo/repo',
  entryPointArgs: [],
  environmentVariables: {},
  portMappings: [],
  systemMountVolumes: [],
  userMountVolumes: [],
};
const plan = async (choice: WorkspaceChoice, config: Partial<WorkspaceIo['config']> = {}, client = new FakeKubeClient()) => {
  const s = await planWorkspaceState(io(config, client), {
    choice,
    dirs,
    namespace: 'ci',
    runnerPod: runnerPod({ persistentVolumeClaim: { claimName: 'w' } }),
  });
  return { s, calls: client.calls.map((c) => `${c.verb} ${c.plural}/${c.name}`) };
};

/** What `fn` throws. */
function catching(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('planWorkspaceState', () => {
  it('records a copy-mode workspace with nothing copied yet', async () => {
    const { s } = await plan({ mode: 'copy', reason: 'ZRH_WORKSPACE_MODE=copy' });
    expect(s).toEqual(copy);
  });

  it('pins a volume-mode job to the runner node when its claim is single-node', async () => {
    const { s, calls } = await plan({ mode: 'volume', reason: 'r', claimName: 'w', claimSubPath: '_work', accessModes: ['ReadWriteOnce'] });
    expect(s).toEqual({
      mode: 'volume',
      workDir: WORK,
      externalsDir: EXTERNALS,
      claimName: 'w',
      claimSubPath: '_work',
      pinnedNode: 'node-a',
      copiedActions: [],
      copiedExternals: [],
    });
    expect(calls).toEqual([]);
  });

  it('reads the claim when the pod spec does not tell its access modes, and leaves RWX claims unpinned', async () => {
    const client = new FakeKubeClient();
    client.put('persistentvolumeclaims', { metadata: { name: 'w', namespace: 'ci' }, spec: { accessModes: ['ReadWriteMany'] } });
    const { s, calls } = await plan({ mode: 'volume', reason: 'r', claimName: 'w', claimSubPath: '' }, {}, client);
    expect(s.pinnedNode).toBeUndefined();
    expect(calls).toEqual(['get persistentvolumeclaims/w']);
  });

  it('never pins (nor reads the claim) when the Kubernetes scheduler places pods', async () => {
    const { s, calls } = await plan({ mode: 'volume', reason: 'r', claimName: 'w', claimSubPath: '' }, { useKubeScheduler: true });
    expect(s).not.toHaveProperty('pinnedNode');
    expect(calls).toEqual([]);
  });
});

describe('workspaceFor', () => {
  const step = planStepCopy({ entryPoint: '/__e/node20/bin/node', args: ['/__w/_actions/o/r/v1/dist/index.js'], copiedActions: [], copiedExternals: [] });

  it('sends the step files, new actions and the env file before a copy-mode script step', () => {
    expect(workspaceFor(io(), copy).sentBeforeScriptStep(step, '_temp/_zrh/1.env')).toEqual([
      '_temp/_runner_file_commands',
      '_actions/o/r/v1',
      '_temp/_zrh/1.env',
    ]);
  });

  it('sends nothing before a volume-mode script step, where the job pod sees _work', async () => {
    const ws = workspaceFor(io(), volume);
    expect(ws.sentBeforeScriptStep(step, '_temp/_zrh/1.env')).toEqual([]);
    expect(await ws.stepInput(step, '_temp/_zrh/1.env')).toEqual({});
  });

  it('leaves the working directory out of a copy-mode job container, which each step enters itself', () => {
    expect(workspaceFor(io(), copy).jobContainer(container)).toEqual({ ...container, workingDirectory: undefined });
    expect(workspaceFor(io(), volume).jobContainer(container)).toBe(container);
  });

  it('gives copy-mode step pods the configured helper image, else the job image', () => {
    expect(workspaceFor(io({ helperImage: 'busybox' }), copy).containerStepHelperImage('node:20')).toBe('busybox');
    expect(workspaceFor(io(), copy).containerStepHelperImage('node:20')).toBe('node:20');
    expect(workspaceFor(io({ helperImage: 'busybox' }), volume).containerStepHelperImage('node:20')).toBeUndefined();
  });

  it('refuses a copy-mode container step with no image for its helpers', () => {
    const helper = () => workspaceFor(io(), copy).containerStepHelperImage(undefined);
    expect(helper).toThrow('Copy mode container steps need ACTIONS_RUNNER_IMAGE (an image with sh and tar) when the job has no job container');
    expect(errorCode(catching(helper))).toBe('UNSUPPORTED');
  });

  it('has nothing to copy into or out of a volume-mode step pod: no request, no phase', async () => {
    const client = new FakeKubeClient();
    const ws = workspaceFor(io({}, client), volume);
    const marks: string[] = [];
    const step = { namespace: 'ci', pod: 'r-step-1', jobContainer: undefined };
    await ws.fillStepPod(step, [], '42', (m) => marks.push(m));
    await ws.collectStepPod(step, [], (m) => marks.push(m));
    expect(marks).toEqual([]);
    expect(client.calls).toEqual([]);
    expect(await ws.fillJobPod({ namespace: 'ci', pod: 'r-job-1', container: 'job' }, undefined)).toBe(volume);
  });
});
