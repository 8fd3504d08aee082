import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { apiError } from '@zfs-runner-hooks/kube/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CachePlan, JobCache } from '../cache.js';
import { untarCommand } from '../kube/tar.js';
import type { PrepareJobArgs } from '../protocol/input.js';
import { commandHarness, jobContainer, NS, RUNNER, RUNNER_UID, type Harness, type HarnessOptions } from '../testing/command-harness.js';
import { kubelet } from '../testing/kubelet.js';
import { prepareJob } from './prepare-job.js';

let h: Harness;
const start = async (options: HarnessOptions = {}) => {
  h = await commandHarness(options);
  h.fake.reactors.push(kubelet());
  // The job container's first line says whether the image is Alpine.
  h.fake.onLogs('job', { text: 'zrh-os: other\n' });
  return h;
};
afterEach(async () => h?.cleanup());

const args = (over: Partial<NonNullable<PrepareJobArgs['container']>> = {}): PrepareJobArgs => ({
  container: jobContainer(h, { registry: { username: 'bot', password: 'hunter2', serverUrl: 'ghcr.io' }, ...over }),
  services: [],
});
const prepare = (a: PrepareJobArgs = args()) => h.command((ctx) => prepareJob(ctx, a, h.responseFile));
/** Writes in the order made, as `verb plural/name`. */
const writes = () => h.fake.calls.filter((c) => ['create', 'delete', 'replace', 'patch'].includes(c.verb)).map((c) => `${c.verb} ${c.plural}/${c.name}`);

describe('prepareJob', () => {
  beforeEach(async () => {
    await start();
  });

  it('creates the registry Secret before the job pod, owned by the runner pod, and answers with the sealed state', async () => {
    const run = await prepare();
    expect(run.error).toBeUndefined();
    const [secret, pod] = h.fake.calls.filter((c) => c.verb === 'create');
    expect(writes()).toEqual([`create secrets/${secret?.name}`, `create pods/${pod?.name}`]);
    const sent = secret?.body as V1Secret;
    expect(sent.metadata?.ownerReferences).toMatchObject([{ kind: 'Pod', name: RUNNER, uid: RUNNER_UID }]);
    expect(sent.metadata?.labels).toMatchObject({ 'runner-pod': RUNNER });
    expect((pod?.body as V1Pod | undefined)?.spec?.imagePullSecrets).toEqual([{ name: secret?.name }]);

    const response = await h.response();
    expect(response).toMatchObject({
      context: { container: { id: pod?.name, network: pod?.name, ports: {} }, services: [] },
      isAlpine: false,
      state: {
        namespace: NS,
        jobPod: pod?.name,
        secrets: [secret?.name],
        workspace: { mode: 'volume', workDir: h.work, pinnedNode: 'node-a' },
        seal: { seq: 1 },
      },
    });
    // Volume mode: the job pod mounts _work, nothing is copied in.
    expect(h.fake.calls.filter((c) => c.verb === 'exec')).toEqual([]);
    expect(await run.ctx.states.outstandingSecrets(h.responseFile)).toEqual([secret?.name]);
  });

  it('runs a services-only job as sidecars of one pod, with no job container to probe or fill', async () => {
    const service = (image: string, ports: string[]) => ({
      image,
      entryPointArgs: [],
      environmentVariables: {},
      portMappings: ports,
      systemMountVolumes: [],
      userMountVolumes: [],
    });
    const run = await prepare({ container: undefined, services: [service('redis:7', ['6379']), service('postgres:16', ['15432:5432'])] });
    expect(run.error).toBeUndefined();
    const pod = h.fake.calls.find((c) => c.verb === 'create' && c.plural === 'pods');
    expect((pod?.body as V1Pod | undefined)?.spec?.containers.map((c) => c.name)).toEqual(['redis', 'postgres']);
    expect(h.fake.calls.filter((c) => c.verb === 'exec' || c.verb === 'logs')).toEqual([]);
    expect(await h.response()).toMatchObject({
      context: {
        services: [
          { id: 'redis', network: pod?.name, ports: { 6379: '6379' } },
          { id: 'postgres', network: pod?.name, ports: { 5432: '15432' } },
        ],
      },
      isAlpine: false,
      state: { hasJobContainer: false, secrets: [] },
    });
    expect((await h.response()).context).not.toHaveProperty('container');
  });

  it('checks every input before the first request: a bad port reports and touches nothing', async () => {
    const run = await prepare(args({ portMappings: ['80:http'], createOptions: '--cap-add SYS_ADMIN' }));
    expect(run.error).toMatchObject({ code: 'INPUT_INVALID' });
    expect((run.error as Error).message).toMatch(/ports of job container[\s\S]*SYS_ADMIN/);
    expect(h.fake.calls).toEqual([]);
  });

  it("deletes the registry Secrets when the job pod does not start, and reports the pod's reason", async () => {
    h.fake.reactors.splice(0, 1, kubelet({ failToStart: () => 'ErrImagePull' }));
    const run = await prepare();
    expect(run.error).toMatchObject({ code: 'POD_FAILED', message: expect.stringContaining('ErrImagePull') });
    const secret = h.fake.calls.find((c) => c.verb === 'create' && c.plural === 'secrets')?.name;
    const pod = h.fake.calls.find((c) => c.verb === 'create' && c.plural === 'pods')?.name;
    expect(writes()).toEqual([`create secrets/${secret}`, `create pods/${pod}`, `delete secrets/${secret}`]);
    expect(h.fake.all('secrets')).toEqual([]);
    // Nothing is left for cleanup_job to find in the journal, and no response was written.
    expect(await run.ctx.states.outstandingSecrets(h.responseFile)).toEqual([]);
    await expect(h.response()).rejects.toThrow();
  });

  it('deletes the registry Secrets when the job pod cannot be created (409: a pod of that name exists)', async () => {
    h.fake.failNext('create', 'pods', apiError(409));
    const run = await prepare();
    expect(run.error).toMatchObject({ code: 'ALREADY_EXISTS', status: 409 });
    expect(h.fake.calls.map((c) => `${c.verb} ${c.plural}`)).not.toContain('watch pods');
    expect(h.fake.all('secrets')).toEqual([]);
    expect(await run.ctx.states.outstandingSecrets(h.responseFile)).toEqual([]);
  });

  it('creates no pod when a registry Secret cannot be created', async () => {
    h.fake.failNext('create', 'secrets', apiError(503));
    const run = await prepare();
    expect(run.error).toMatchObject({ status: 503 });
    expect(h.fake.calls.filter((c) => c.plural === 'pods' && c.verb === 'create')).toEqual([]);
  });

  it('keeps a Secret whose delete fails in the journal, for cleanup_job', async () => {
    h.fake.reactors.splice(0, 1, kubelet({ failToStart: () => 'InvalidImageName' }));
    h.fake.failNext('delete', 'secrets', apiError(500));
    const run = await prepare();
    expect(run.error).toMatchObject({ code: 'POD_FAILED' });
    const secret = h.fake.calls.find((c) => c.verb === 'create' && c.plural === 'secrets')?.name;
    expect(await run.ctx.states.outstandingSecrets(h.responseFile)).toEqual([secret]);
  });

  it('hands the clone to the job pod once it exists, and records the state the cache returns', async () => {
    const handedTo: V1Pod[] = [];
    const plan: CachePlan = {
      volumes: [{ name: 'cache', persistentVolumeClaim: { claimName: 'clone-1' } }],
      volumeMounts: [{ name: 'cache', mountPath: '/cache' }],
      env: [],
      state: { pvc: 'clone-1', owner: 'runner' },
      afterPodCreated: async (pod) => {
        handedTo.push(pod);
        return { pvc: 'clone-1', owner: pod.metadata?.name ?? '' };
      },
    };
    const cache: JobCache = { check: async () => undefined, plan: async () => plan, cleanup: async () => undefined };
    await h.cleanup();
    await start({ cache });
    const run = await prepare();
    expect(run.error).toBeUndefined();
    const pod = h.fake.calls.find((c) => c.verb === 'create' && c.plural === 'pods');
    expect(handedTo.map((p) => [p.metadata?.name, p.metadata?.uid])).toEqual([[pod?.name, expect.stringMatching(/^uid-/)]]);
    expect((pod?.body as V1Pod | undefined)?.spec?.volumes).toContainEqual({ name: 'cache', persistentVolumeClaim: { claimName: 'clone-1' } });
    expect((await h.response()).state.clone).toEqual({ pvc: 'clone-1', owner: pod?.name });
  });
});

describe('prepareJob in copy mode', () => {
  /** A checkout the runner made: what copy mode sends into the job pod. */
  const checkout = async () => {
    await mkdir(join(h.work, 'repo', 'repo'), { recursive: true });
    await writeFile(join(h.work, 'repo', 'repo', 'README.md'), 'hello\n');
  };

  it('copies the workspace into the ready job pod and records a copy-mode workspace', async () => {
    await start({ mode: 'copy' });
    await checkout();
    h.fake.onExec((o) => o.command[2] === untarCommand('/')[2], { exitCode: 0 });
    const run = await prepare();
    expect(run.error).toBeUndefined();
    const pod = h.fake.calls.find((c) => c.verb === 'create' && c.plural === 'pods');
    const ready = h.fake.calls.findIndex((c) => c.verb === 'watch');
    const copy = h.fake.calls.findIndex((c) => c.verb === 'exec');
    expect(copy).toBeGreaterThan(ready);
    expect(h.fake.calls[copy]).toMatchObject({ name: pod?.name, container: 'job', command: untarCommand('/__w') });
    expect(h.fake.calls[copy]?.stdin?.includes('repo/repo/README.md')).toBe(true);
    expect((await h.response()).state.workspace).toMatchObject({ mode: 'copy', workDir: h.work });
    // The job container declares no working directory (the runtime would create it as root).
    expect((pod?.body as V1Pod | undefined)?.spec?.containers.find((c) => c.name === 'job')?.workingDir).toBeUndefined();
  });

  it('fails when the copy into the job pod fails, writes no response and leaves the Secret to cleanup_job', async () => {
    await start({ mode: 'copy' });
    await checkout();
    h.fake.onExec((o) => o.command[2] === untarCommand('/')[2], { exitCode: 2, stderr: 'tar: write error' });
    const run = await prepare();
    expect(run.error).toMatchObject({ code: 'COPY_FAILED', message: expect.stringContaining('tar: write error') });
    await expect(h.response()).rejects.toThrow();
    // The pod stands and its Secret stays in the journal: cleanup_job (with no state) deletes them.
    const secret = h.fake.calls.find((c) => c.verb === 'create' && c.plural === 'secrets')?.name;
    expect(h.fake.calls.filter((c) => c.verb === 'delete')).toEqual([]);
    expect(await run.ctx.states.outstandingSecrets(h.responseFile)).toEqual([secret]);
  });
});
