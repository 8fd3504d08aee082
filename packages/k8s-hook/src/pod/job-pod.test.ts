import { describe, expect, it } from 'vitest';
import type { ImageContainer } from '../protocol/input.js';
import { jobPodWorkspace } from '../workspace/mounts.js';
import { parseCreateOptions } from './create-options.js';
import { buildJobPod } from './job-pod.js';
import { JOB_COMMAND } from './containers.js';
import { parsePortMappings } from './ports.js';

const container = (over: Partial<ImageContainer> = {}): ImageContainer => ({
  image: 'node:20',
  dockerfile: undefined,
  entryPointArgs: [],
  entryPoint: undefined,
  workingDirectory: '/__w/repo/repo',
  createOptions: undefined,
  registry: undefined,
  environmentVariables: { HOME: '/github/home' },
  portMappings: [],
  systemMountVolumes: [],
  userMountVolumes: [],
  ...over,
});
const parts = (c: ImageContainer) => ({
  container: c,
  ports: parsePortMappings(c.portMappings).ports,
  options: parseCreateOptions(c.createOptions),
  userMounts: [],
});
const runner = { name: 'arc-runner-1', uid: 'uid-1' };

describe('buildJobPod', () => {
  const pod = buildJobPod({
    name: 'arc-runner-1-job-12345678',
    namespace: 'ci',
    runner,
    job: parts(container({ portMappings: ['8080:80'], createOptions: '--cpus 2 --shm-size 256m' })),
    services: [
      {
        name: 'redis',
        ...parts(container({ image: 'redis:7', workingDirectory: undefined, entryPoint: 'redis-server', entryPointArgs: ['--port', '', '6379'] })),
      },
    ],
    workspace: jobPodWorkspace({ claimName: 'arc-runner-1-work', claimSubPath: '', pinnedNode: 'node-a' }),
    pullSecrets: ['arc-runner-1-reg-abcdef12'],
    additions: {
      env: [{ name: 'CONAN_HOME', value: '/cache' }],
      volumeMounts: [{ name: 'cache', mountPath: '/cache' }],
      volumes: [{ name: 'cache', persistentVolumeClaim: { claimName: 'clone' } }],
    },
  });
  const job = pod.spec?.containers[0];
  const redis = pod.spec?.containers[1];

  it('runs the job container as `job`, kept alive, in the workflow working directory', () => {
    expect(job).toMatchObject({ name: 'job', image: 'node:20', command: [...JOB_COMMAND], workingDir: '/__w/repo/repo' });
  });

  it('adds CI and GITHUB_ACTIONS, then the workflow env, then collaborator env', () => {
    expect(job?.env).toEqual([
      { name: 'CI', value: 'true' },
      { name: 'GITHUB_ACTIONS', value: 'true' },
      { name: 'HOME', value: '/github/home' },
      { name: 'CONAN_HOME', value: '/cache' },
    ]);
  });

  it('mounts the workspace, the cache and /dev/shm into the job container', () => {
    expect(job?.volumeMounts?.map((m) => `${m.name}:${m.mountPath}:${m.subPath ?? ''}`)).toEqual([
      'work:/__w:',
      'work:/__e:_externals',
      'work:/github/home:_temp/_github_home',
      'work:/github/workflow:_temp/_github_workflow',
      'cache:/cache:',
      'shm-job:/dev/shm:',
    ]);
    expect(pod.spec?.volumes?.map((v) => v.name)).toEqual(['work', 'shm-job', 'cache']);
  });

  it('runs services as sidecars with their entrypoint and non-empty args', () => {
    expect(redis).toMatchObject({ name: 'redis', image: 'redis:7', command: ['redis-server'], args: ['--port', '6379'] });
    expect(redis?.volumeMounts).toBeUndefined();
  });

  it("passes a service's entrypoint and args on literally, as Docker does (no $(NAME) expansion)", () => {
    const p = buildJobPod({
      name: 'x',
      namespace: 'ci',
      runner,
      services: [{ name: 'db', ...parts(container({ image: 'db', entryPoint: '/bin/$(SHELL)', entryPointArgs: ['-c', 'echo $(HOME) $$ $X'] })) }],
      workspace: jobPodWorkspace({}),
      pullSecrets: [],
    });
    expect(p.spec?.containers[0]).toMatchObject({ command: ['/bin/$$(SHELL)'], args: ['-c', 'echo $$(HOME) $$$$ $$X'] });
  });

  it.each<[string, 'job' | 'db']>([
    ['job', 'job'],
    ['service', 'db'],
  ])("writes the %s container's env values, from `env:` and `-e`, so the kubelet passes them on byte for byte", (_, name) => {
    const tricky = { S: 'p$(HOME)w$$d', N: 'a\nb=c', U: 'grüße $VAR' };
    const c = parts(container({ image: 'db', environmentVariables: tricky, createOptions: "-e 'O=$(PATH)$$'" }));
    const p = buildJobPod({
      name: 'x',
      namespace: 'ci',
      runner,
      ...(name === 'job' ? { job: c, services: [] } : { services: [{ name, ...c }] }),
      workspace: jobPodWorkspace({}),
      pullSecrets: [],
      additions: { env: [{ name: 'CACHE', value: '/c$' }] },
    });
    const env = p.spec?.containers.find((x) => x.name === name)?.env;
    expect(env).toEqual(
      expect.arrayContaining([
        { name: 'S', value: 'p$$(HOME)w$$$$d' },
        { name: 'N', value: 'a\nb=c' },
        { name: 'U', value: 'grüße $$VAR' },
        { name: 'O', value: '$$(PATH)$$$$' },
      ]),
    );
    if (name === 'job') expect(env).toContainEqual({ name: 'CACHE', value: '/c$$' });
  });

  it("labels the pod with the job's and the services' --label under the hook's own", () => {
    const p = buildJobPod({
      name: 'x',
      namespace: 'ci',
      runner,
      job: parts(container({ createOptions: '--label team=ci --label runner-pod=evil' })),
      services: [{ name: 'db', ...parts(container({ image: 'db', createOptions: '-l tier=db' })) }],
      workspace: jobPodWorkspace({}),
      pullSecrets: [],
    });
    expect(p.metadata?.labels).toEqual({
      team: 'ci',
      tier: 'db',
      'runner-pod': 'arc-runner-1',
      'app.kubernetes.io/managed-by': 'zfs-runner-hooks',
      'zrh.dev/role': 'job',
    });
  });

  it('honours ports and create options', () => {
    expect(job?.ports).toEqual([{ containerPort: 80, hostPort: 8080, protocol: 'TCP' }]);
    expect(job?.resources).toEqual({ limits: { cpu: '2' } });
  });

  it('labels and owns the pod for ARC and the garbage collector, pins it to the runner node', () => {
    expect(pod.metadata?.labels).toEqual({ 'runner-pod': 'arc-runner-1', 'app.kubernetes.io/managed-by': 'zfs-runner-hooks', 'zrh.dev/role': 'job' });
    expect(pod.metadata?.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Pod', name: 'arc-runner-1', uid: 'uid-1' }]);
    expect(pod.spec?.restartPolicy).toBe('Never');
    expect(pod.spec?.imagePullSecrets).toEqual([{ name: 'arc-runner-1-reg-abcdef12' }]);
    expect(pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([
      { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-a'] }] },
    ]);
    expect(pod.spec?.nodeName).toBeUndefined();
  });

  it('builds a service-only pod without a job container', () => {
    const p = buildJobPod({
      name: 'x',
      namespace: 'ci',
      runner,
      services: [{ name: 'redis', ...parts(container({ image: 'redis' })) }],
      workspace: jobPodWorkspace({}),
      pullSecrets: [],
    });
    expect(p.spec?.containers.map((c) => c.name)).toEqual(['redis']);
    expect(p.spec?.affinity).toBeUndefined();
    expect(p.spec?.volumes).toEqual([{ name: 'work', emptyDir: {} }]);
  });
});
