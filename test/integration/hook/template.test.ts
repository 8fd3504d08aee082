import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HookCall } from '../../simulator/runner.js';
import type { StartedRunner } from '../../simulator/start.js';
import { prepareJobInput, type PrepareJobArgs } from '../../simulator/stdin.js';
import { createHookSuite, IMAGES, labelledObjects, names, output, startRunner, type HookSuite } from './helpers.js';

const TEMPLATE = `
metadata:
  labels:
    team: platform
  annotations:
    zrh.test/note: from-template
spec:
  initContainers:
    - name: prep
      image: ${IMAGES.busybox}
      command: [sh, -c, 'echo from-init > /shared/init.txt']
      volumeMounts: [{ name: shared, mountPath: /shared }]
  volumes:
    - name: shared
      emptyDir: {}
  containers:
    - name: $job
      env: [{ name: FROM_TEMPLATE, value: 'yes' }]
      volumeMounts: [{ name: shared, mountPath: /shared }]
      securityContext:
        capabilities:
          drop: [NET_RAW]
    - name: $busybox
      env: [{ name: SERVICE_FROM_TEMPLATE, value: 'svc' }]
    - name: sidecar
      image: ${IMAGES.busybox}
      command: [sh, -c, 'echo sidecar > /shared/sidecar.txt; exec sleep 3600']
      volumeMounts: [{ name: shared, mountPath: /shared }]
`;

describe('the hook template and registry credentials', () => {
  let suite: HookSuite;
  let runner: StartedRunner;
  let dir: string;
  let prepare: HookCall;
  let pod: V1Pod;

  beforeAll(async () => {
    suite = await createHookSuite('hook-tpl');
    dir = await mkdtemp(join(tmpdir(), 'zrh-tpl-'));
    const templateFile = join(dir, 'template.yaml');
    await writeFile(templateFile, TEMPLATE);
    runner = await startRunner(suite, 'volume', {
      runnerEnv: { ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE: templateFile, ZRH_ALLOWED_CAPABILITIES: 'SYS_PTRACE' },
    });
    prepare = await runner.simulator.call((responseFile) => {
      const input = prepareJobInput(
        runner.layout,
        responseFile,
        { image: IMAGES.debian, options: '--cap-add SYS_PTRACE', credentials: { username: 'job-user', password: 'job-pass-1' } },
        [
          { image: IMAGES.busybox, entrypoint: 'sleep', command: '3600', credentials: { username: 'job-user', password: 'job-pass-1' } },
          { image: IMAGES.busybox, entrypoint: 'sleep', command: '3600', credentials: { username: 'hub-user', password: 'hub-pass-2' } },
        ],
      );
      // The runner sends "" as the server of a Docker Hub image; the images here are local, so
      // only the server field plays Docker Hub.
      const args = input.args as PrepareJobArgs;
      const hub = args.services[1]!;
      return { ...input, args: { ...args, services: [args.services[0]!, { ...hub, registry: { ...hub.registry!, serverUrl: '' } }] } };
    });
    const { pods } = await labelledObjects(suite, runner.pod.name);
    pod = pods[0]!;
  });
  afterAll(async () => {
    await runner?.simulator.cleanupJob().catch(() => undefined);
    await runner?.dispose();
    await suite?.ns.delete();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prepare_job succeeds with the template applied', () => {
    expect(prepare.ok, output(prepare)).toBe(true);
    // Registry passwords are only ever printed to be masked.
    const printed = `${prepare.stdout}${prepare.stderr}`.split('\n');
    expect(printed).toContain('::add-mask::job-pass-1');
    expect(printed.filter((l) => /job-pass-1|hub-pass-2/.test(l) && !l.startsWith('::add-mask::'))).toEqual([]);
  });

  it("adds the template's labels and annotations next to the hook's own", () => {
    expect(pod.metadata?.labels).toMatchObject({ team: 'platform', 'runner-pod': runner.pod.name });
    expect(pod.metadata?.annotations).toMatchObject({ 'zrh.test/note': 'from-template' });
  });

  it('merges $job into the job container: env and mounts appended, securityContext merged with the options', () => {
    const job = pod.spec?.containers.find((c) => c.name === 'job');
    expect(job?.env).toEqual(
      expect.arrayContaining([
        { name: 'FROM_TEMPLATE', value: 'yes' },
        { name: 'HOME', value: '/github/home' },
      ]),
    );
    expect(job?.volumeMounts?.map((m) => m.mountPath)).toEqual(expect.arrayContaining(['/shared', '/__w']));
    expect(job?.securityContext?.capabilities).toEqual({ add: ['SYS_PTRACE'], drop: ['NET_RAW'] });
    const services = pod.spec?.containers.filter((c) => c.name.startsWith('busybox')) ?? [];
    expect(services.map((s) => s.env?.find((e) => e.name === 'SERVICE_FROM_TEMPLATE')?.value)).toEqual(['svc', 'svc']);
  });

  it('appends init containers and adds other containers as sidecars, all sharing the template volume', async () => {
    expect(pod.spec?.initContainers?.map((c) => c.name)).toContain('prep');
    expect(pod.spec?.containers.map((c) => c.name)).toEqual(['job', 'busybox', 'busybox-2', 'sidecar']);
    const step = await runner.simulator.runScript('cat /shared/init.txt /shared/sidecar.txt\necho "FROM_TEMPLATE=$FROM_TEMPLATE"\n');
    expect(step.ok, output(step)).toBe(true);
    expect(step.stdout).toContain('from-init');
    expect(step.stdout).toContain('sidecar');
    expect(step.stdout).toContain('FROM_TEMPLATE=yes');
  });

  it('creates one dockerconfigjson Secret per distinct registry and references each from the pod', async () => {
    const { secrets } = await labelledObjects(suite, runner.pod.name);
    expect(secrets).toHaveLength(2);
    const auths = secrets.map((s) => {
      expect(s.type).toBe('kubernetes.io/dockerconfigjson');
      expect(s.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Pod', name: runner.pod.name, uid: runner.pod.uid });
      return JSON.parse(Buffer.from(s.data?.['.dockerconfigjson'] ?? '', 'base64').toString('utf8')) as {
        auths: Record<string, { username: string; password: string; auth: string }>;
      };
    });
    const byServer = Object.assign({}, ...auths.map((a) => a.auths)) as Record<string, { username: string; password: string; auth: string }>;
    expect(byServer).toEqual({
      'zrh.local': { username: 'job-user', password: 'job-pass-1', auth: Buffer.from('job-user:job-pass-1').toString('base64') },
      'https://index.docker.io/v1/': { username: 'hub-user', password: 'hub-pass-2', auth: Buffer.from('hub-user:hub-pass-2').toString('base64') },
    });
    expect(pod.spec?.imagePullSecrets?.map((r) => r.name).sort()).toEqual(names({ pods: [], secrets, claims: [] }).secrets);
  });

  it('cleanup_job removes the pod and the registry secrets', async () => {
    const cleanup = await runner.simulator.cleanupJob();
    expect(cleanup.ok, output(cleanup)).toBe(true);
    expect(names(await labelledObjects(suite, runner.pod.name))).toEqual({ pods: [], secrets: [], claims: [] });
  });
});
