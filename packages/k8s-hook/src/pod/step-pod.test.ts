import { describe, expect, it } from 'vitest';
import { planStepMounts, stepPodWorkspace } from '../workspace/mounts.js';
import { containerStepMounts, EXTERNALS, WORK } from '../testing/fixtures.js';
import type { MountVolume } from '../protocol/input.js';
import { parseCreateOptions } from './create-options.js';
import { buildStepEnvSecret, buildStepPod } from './step-pod.js';

const mounts = containerStepMounts() as unknown as MountVolume[];
const plan = planStepMounts(mounts, { workDir: WORK, externalsDir: EXTERNALS });
const runner = { name: 'r', uid: 'u' };

describe('buildStepPod', () => {
  it('keeps the image ENTRYPOINT when the action has none and reads env from the Secret', () => {
    const pod = buildStepPod({
      name: 'r-step-1',
      namespace: 'ci',
      runner,
      image: 'alpine',
      args: ['a b', 'c'],
      workingDir: '/github/workspace',
      envSecretName: 'r-env-1',
      workspace: stepPodWorkspace({ claimName: 'w', claimSubPath: '' }, plan),
      pullSecrets: [],
    });
    const step = pod.spec?.containers[0];
    expect(step?.command).toBeUndefined();
    expect(step?.args).toEqual(['a b', 'c']);
    expect(step?.envFrom).toEqual([{ secretRef: { name: 'r-env-1' } }]);
    expect(step?.env?.map((e) => e.name)).toEqual(['CI', 'GITHUB_ACTIONS']);
    expect(step?.volumeMounts?.map((m) => `${m.mountPath}=${m.subPath}`)).toEqual([
      '/github/workspace=repo/repo',
      '/github/home=_temp/_github_home',
      '/github/workflow=_temp/_github_workflow',
      '/github/file_commands=_temp/_runner_file_commands',
      '/github/runner_temp=_temp',
    ]);
    expect(pod.spec?.initContainers).toBeUndefined();
    expect(pod.metadata?.labels?.['zrh.dev/role']).toBe('step');
  });

  it('uses the given entry point as command', () => {
    const pod = buildStepPod({
      name: 's',
      namespace: 'ci',
      runner,
      image: 'alpine',
      entryPoint: '/bin/sh',
      args: [],
      workingDir: '/github/workspace',
      envSecretName: 'e',
      workspace: stepPodWorkspace({}, plan),
      pullSecrets: [],
      helperImage: 'busybox',
    });
    expect(pod.spec?.containers.find((c) => c.name === 'step')?.command).toEqual(['/bin/sh']);
    expect(pod.spec?.initContainers).toBeUndefined();
    // The helper first: its postStart hook holds the step container until the ready marker exists.
    expect(pod.spec?.containers.map((c) => c.name)).toEqual(['zrh-io', 'step']);
    expect(pod.spec?.containers[0]?.lifecycle?.postStart?.exec?.command).toEqual([
      'sh',
      '-c',
      'while [ ! -e /__w/.zrh-ready ]; do sleep 0.05 2>/dev/null || sleep 1; done',
    ]);
    expect(pod.spec?.volumes).toEqual([{ name: 'work', emptyDir: {} }]);
  });

  it('escapes $ in the entry point and args so that Kubernetes passes them on literally', () => {
    const pod = buildStepPod({
      name: 's',
      namespace: 'ci',
      runner,
      image: 'alpine',
      entryPoint: '/opt/$bin',
      args: ['$(HOME)', 'pid$$', 'plain'],
      workingDir: '/github/workspace',
      envSecretName: 'e',
      workspace: stepPodWorkspace({}, plan),
      pullSecrets: [],
      helperImage: 'busybox',
    });
    const step = pod.spec?.containers.find((c) => c.name === 'step');
    expect(step?.command).toEqual(['/opt/$$bin']);
    expect(step?.args).toEqual(['$$(HOME)', 'pid$$$$', 'plain']);
  });

  it("applies the honoured options to the step container, env values literal, labels under the hook's own", () => {
    const options = parseCreateOptions(
      "--cap-add NET_ADMIN --user 1001 --cpus 1 -e 'X=$(HOME)' --label team=ci --label zrh.dev/role=job --workdir /src --shm-size 64m",
    );
    const pod = buildStepPod({
      name: 's',
      namespace: 'ci',
      runner,
      image: 'alpine',
      args: [],
      workingDir: '/github/workspace',
      envSecretName: 'e',
      workspace: stepPodWorkspace({}, plan),
      pullSecrets: [],
      options,
    });
    const step = pod.spec?.containers[0];
    expect(step?.securityContext).toEqual({ runAsUser: 1001, capabilities: { add: ['NET_ADMIN'] } });
    expect(step?.resources).toEqual({ limits: { cpu: '1' } });
    expect(step?.env).toEqual([
      { name: 'CI', value: 'true' },
      { name: 'GITHUB_ACTIONS', value: 'true' },
      { name: 'X', value: '$$(HOME)' },
    ]);
    expect(step?.workingDir).toBe('/src');
    expect(step?.volumeMounts).toContainEqual({ name: 'shm-step', mountPath: '/dev/shm' });
    expect(pod.spec?.volumes).toContainEqual({ name: 'shm-step', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } });
    expect(pod.metadata?.labels).toMatchObject({ team: 'ci', 'zrh.dev/role': 'step' });
  });
});

describe('buildStepEnvSecret', () => {
  it('keeps the step env out of the pod spec, in an owned Secret', () => {
    const s = buildStepEnvSecret({ name: 'e', namespace: 'ci', runner, env: { GITHUB_TOKEN: 't' } });
    expect(s.stringData).toEqual({ GITHUB_TOKEN: 't' });
    expect(s.metadata?.ownerReferences?.[0]?.name).toBe('r');
  });
});
