import type { V1Pod } from '@kubernetes/client-node';
import type { JobState } from '../protocol/state.js';

/** The runner's `_work` and externals in test inputs. */
export const WORK = '/home/runner/_work';
export const EXTERNALS = '/home/runner/externals';

/** A HookContainer exactly as the runner serialises one: camelCase, nulls present. */
export function runnerContainer(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    image: 'node:20',
    dockerfile: null,
    entryPointArgs: [],
    entryPoint: null,
    workingDirectory: '/__w/repo/repo',
    createOptions: null,
    environmentVariables: { HOME: '/github/home' },
    portMappings: [],
    registry: null,
    systemMountVolumes: [
      { userProvidedValue: null, sourceVolumePath: '/var/run/docker.sock', targetVolumePath: '/var/run/docker.sock', readOnly: false },
      { userProvidedValue: null, sourceVolumePath: WORK, targetVolumePath: '/__w', readOnly: false },
      { userProvidedValue: null, sourceVolumePath: EXTERNALS, targetVolumePath: '/__e', readOnly: true },
      { userProvidedValue: null, sourceVolumePath: `${WORK}/_temp`, targetVolumePath: '/__w/_temp', readOnly: false },
      { userProvidedValue: null, sourceVolumePath: `${WORK}/_actions`, targetVolumePath: '/__w/_actions', readOnly: false },
      { userProvidedValue: null, sourceVolumePath: `${WORK}/_tool`, targetVolumePath: '/__w/_tool', readOnly: false },
      { userProvidedValue: null, sourceVolumePath: `${WORK}/_temp/_github_home`, targetVolumePath: '/github/home', readOnly: false },
      { userProvidedValue: null, sourceVolumePath: `${WORK}/_temp/_github_workflow`, targetVolumePath: '/github/workflow', readOnly: false },
    ],
    userMountVolumes: [],
    ...overrides,
  };
}

/** The mounts the runner sends with a container step. */
export function containerStepMounts(): Record<string, unknown>[] {
  const m = (source: string, target: string) => ({ userProvidedValue: null, sourceVolumePath: source, targetVolumePath: target, readOnly: false });
  return [
    m('/var/run/docker.sock', '/var/run/docker.sock'),
    m(`${WORK}/repo/repo`, '/github/workspace'),
    m(`${WORK}/_temp/_github_home`, '/github/home'),
    m(`${WORK}/_temp/_github_workflow`, '/github/workflow'),
    m(`${WORK}/_temp/_runner_file_commands`, '/github/file_commands'),
    m(`${WORK}/_temp`, '/github/runner_temp'),
  ];
}

/** The stdin of one hook call. */
export function hookStdin(command: string, args: unknown, state: unknown = null): Record<string, unknown> {
  return { command, responseFile: `${WORK}/_temp/_runner_hook_responses/0b1c.json`, args, state };
}

/** An ARC runner pod with its work volume. */
export function runnerPod(volume: Record<string, unknown>, mountPath = WORK): V1Pod {
  return {
    metadata: { name: 'arc-runner-abc12', uid: 'uid-1', namespace: 'ci' },
    spec: {
      nodeName: 'node-a',
      containers: [{ name: 'runner', image: 'ghcr.io/actions/actions-runner', volumeMounts: [{ name: 'work', mountPath }] }],
      volumes: [{ name: 'work', ...volume }],
    },
  } as V1Pod;
}

/** A job state as prepare_job writes it for runner `runner-1` in namespace `ci` (volume mode, a clone). */
export function sampleJobState(): JobState {
  return {
    version: 1,
    namespace: 'ci',
    jobPod: 'runner-1-job-ab12',
    jobImage: 'node:20',
    hasJobContainer: true,
    secrets: ['runner-1-reg-cd34'],
    runnerPod: { name: 'runner-1', uid: 'uid-1', node: 'node-a' },
    workspace: { mode: 'volume', workDir: WORK, externalsDir: EXTERNALS, claimName: 'runner-1-work', claimSubPath: '', copiedActions: [], copiedExternals: [] },
    steps: { run: 0, failed: 0 },
    clone: { pvc: 'runner-1-clone', policy: { promote: false, snapshotBack: 'never' } },
  };
}
