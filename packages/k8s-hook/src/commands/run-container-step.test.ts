import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { apiError } from '@zfs-runner-hooks/kube/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunContainerStepArgs } from '../protocol/input.js';
import { untarCommand } from '../kube/tar.js';
import { IO_CONTAINER } from '../pod/step-pod.js';
import { commandHarness, jobContainer, NS, preparedState, sameScript, type Harness, type HarnessOptions } from '../testing/command-harness.js';
import { finishStepPod, kubelet } from '../testing/kubelet.js';
import { runContainerStep } from './run-container-step.js';

let h: Harness;
let state: Record<string, any>;
/** A job (no registry login, nothing to copy in) prepared in `options.mode`; its state in `state`. */
async function prepared(options: HarnessOptions = {}): Promise<void> {
  h = await commandHarness(options);
  h.fake.reactors.push(kubelet());
  h.fake.onLogs('job', { text: 'zrh-os: other\n' });
  state = await preparedState(h, jobContainer(h, { workingDirectory: undefined }));
  h.fake.calls.length = 0;
}
afterEach(async () => h?.cleanup());

const args = (over: Partial<RunContainerStepArgs> = {}): RunContainerStepArgs => ({
  image: 'alpine:3.20',
  entryPointArgs: ['echo', 'hi'],
  environmentVariables: { GREETING: 'hello', 'BAD NAME': 'x' },
  portMappings: [],
  systemMountVolumes: [],
  userMountVolumes: [],
  ...over,
});
const step = (a: RunContainerStepArgs = args()) => h.command((ctx) => runContainerStep(ctx, a, state, h.responseFile));
const writes = () => h.fake.calls.filter((c) => ['create', 'delete'].includes(c.verb)).map((c) => `${c.verb} ${c.plural}/${c.name}`);
const created = (plural: string) => h.fake.calls.find((c) => c.verb === 'create' && c.plural === plural);

describe('runContainerStep', () => {
  beforeEach(async () => prepared());

  it('creates the env Secret, then the step pod, and deletes both once the step ended', async () => {
    const run = await step();
    expect(run.error).toBeUndefined();
    const secret = created('secrets');
    const pod = created('pods');
    expect(writes()).toEqual([`create secrets/${secret?.name}`, `create pods/${pod?.name}`, `delete pods/${pod?.name}`, `delete secrets/${secret?.name}`]);
    expect((secret?.body as V1Secret | undefined)?.stringData).toEqual({ GREETING: 'hello' });
    expect(run.log.lines).toContainEqual(
      expect.stringContaining("Not passed to the step (a Kubernetes Secret key allows only letters, digits, '-', '_' and '.'): BAD NAME"),
    );
    const container = (pod?.body as V1Pod | undefined)?.spec?.containers.find((c) => c.name === 'step');
    expect(container?.envFrom).toEqual([{ secretRef: { name: secret?.name } }]);
    expect(h.fake.calls.find((c) => c.verb === 'delete' && c.plural === 'pods')?.query).toEqual({ gracePeriodSeconds: 0 });
    expect((await h.response()).state.steps).toEqual({ run: 1, failed: 0 });
    expect(await run.ctx.states.outstandingSecrets(h.responseFile)).toEqual([state.secrets].flat().filter(Boolean));
  });

  it("fails with the container's exit code, and still deletes the pod and its Secret", async () => {
    h.fake.reactors.splice(0, 1, kubelet({ stepExitCode: 2 }));
    const run = await step();
    expect(run.error).toMatchObject({ name: 'StepFailedError', exitCode: 2 });
    expect(
      h.fake
        .all('pods')
        .map((p) => p.metadata?.name)
        .sort(),
    ).toEqual([state.jobPod, 'runner-1'].sort());
    expect(h.fake.all('secrets').map((s) => s.metadata?.name)).toEqual(state.secrets);
    expect((await h.response()).state.steps).toEqual({ run: 1, failed: 1 });
  });

  it('deletes the env Secret when the step pod cannot be created', async () => {
    h.fake.failNext('create', 'pods', apiError(503));
    const run = await step();
    expect(run.error).toMatchObject({ status: 503 });
    const secret = created('secrets')?.name;
    expect(writes()).toEqual([
      `create secrets/${secret}`,
      `create pods/${created('pods')?.name}`,
      `delete pods/${created('pods')?.name}`,
      `delete secrets/${secret}`,
    ]);
    expect(await run.ctx.states.outstandingSecrets(h.responseFile)).not.toContain(secret);
  });

  it('keeps a Secret it could not delete in the journal, for cleanup_job', async () => {
    h.fake.failNext('delete', 'secrets', apiError(500));
    const run = await step();
    expect(run.error).toBeUndefined();
    expect(await run.ctx.states.outstandingSecrets(h.responseFile)).toContain(created('secrets')?.name);
  });

  it("creates a registry Secret for the action's image and names it as the pull secret", async () => {
    const run = await step(args({ registry: { username: 'bot', password: 'pw', serverUrl: 'ghcr.io' } }));
    expect(run.error).toBeUndefined();
    const secrets = h.fake.calls.filter((c) => c.verb === 'create' && c.plural === 'secrets').map((c) => c.name);
    expect(secrets).toHaveLength(2);
    expect((created('pods')?.body as V1Pod | undefined)?.spec?.imagePullSecrets).toEqual([{ name: secrets[1] }]);
    expect(
      h.fake.calls
        .filter((c) => c.verb === 'delete' && c.plural === 'secrets')
        .map((c) => c.name)
        .sort(),
    ).toEqual([...secrets].sort());
  });

  it('refuses a Dockerfile action before any request', async () => {
    const run = await step(args({ image: undefined, dockerfile: 'Dockerfile' }));
    expect(run.error).toMatchObject({ code: 'UNSUPPORTED' });
    expect(h.fake.calls).toEqual([]);
  });
});

describe('runContainerStep input checks', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zrh-step-template-'));
    await writeFile(join(dir, 'template.yaml'), 'spec:\n  containers: []\n');
    await prepared({ env: { ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE: join(dir, 'template.yaml') } });
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('reports every problem it can find offline at once, and sends no request', async () => {
    await writeFile(join(dir, 'template.yaml'), 'spec: [');
    state = { ...state, jobPod: 'another-pod' };
    const run = await step(args({ image: undefined, dockerfile: 'Dockerfile', createOptions: '--cap-add SYS_ADMIN' }));
    expect(run.error).toMatchObject({ code: 'INPUT_INVALID' });
    const message = (run.error as Error).message;
    expect(message).toMatch(/^run_container_step found 4 problems in its input and started nothing/);
    expect(message).toContain('1. The job state the runner passed back was not written by this hook for this job');
    expect(message).toContain('2. Container actions built from a Dockerfile are not supported by the Kubernetes hook (Dockerfile)');
    expect(message).toMatch(/3\. Hook template \S*template\.yaml is not valid YAML/);
    expect(message).toMatch(/4\. Options of the container step are not allowed:\n +--cap-add SYS_ADMIN/);
    expect(h.fake.calls).toEqual([]);
  });

  it('reports one problem as it is', async () => {
    const run = await step(args({ createOptions: '--cap-add SYS_ADMIN' }));
    expect(run.error).toMatchObject({ code: 'OPTION_REFUSED', message: expect.stringContaining('Options of the container step are not allowed') });
    expect(h.fake.calls).toEqual([]);
  });
});

describe('runContainerStep in copy mode', () => {
  const isUntar = sameScript(untarCommand('/'));
  const isRelease = (o: { command: readonly string[] }) => o.command[2]?.includes('.zrh-ready') === true;
  /** A copy-mode job whose step pods' helper container answers an exec of `true`. */
  const preparedCopy = async () => {
    await prepared({ mode: 'copy' });
    h.fake.onExec((o) => o.command[0] === 'true', { exitCode: 0 });
  };
  /** The mounts the runner sends with a container step. */
  const stepMounts = () => [
    { sourceVolumePath: join(h.work, 'repo', 'repo'), targetVolumePath: '/github/workspace', readOnly: false },
    { sourceVolumePath: join(h.work, '_temp', '_runner_file_commands'), targetVolumePath: '/github/file_commands', readOnly: false },
  ];

  it('fills the step pod while its zrh-io container holds the step, releases it, and brings the results back after the step', async () => {
    await preparedCopy();
    await mkdir(join(h.work, '_temp', '_runner_file_commands'), { recursive: true });
    h.fake
      .onExec(isUntar, { exitCode: 0 })
      .onExec((o) => o.command[0] === 'tar', { exitCode: 0, stdout: Buffer.alloc(1024) })
      .onExec(isRelease, (o) => {
        finishStepPod(h.fake, NS, o.pod, 0);
        return { exitCode: 0 };
      });
    const run = await step(args({ systemMountVolumes: stepMounts() }));
    expect(run.error).toBeUndefined();
    const pod = created('pods');
    const containers = (pod?.body as V1Pod | undefined)?.spec?.containers ?? [];
    expect(containers.map((c) => c.name)).toEqual([IO_CONTAINER, 'step']);
    expect(containers[0]?.image).toBe('node:20');
    expect(containers[0]?.lifecycle?.postStart?.exec?.command?.join(' ')).toContain('.zrh-ready');
    expect((pod?.body as V1Pod | undefined)?.spec?.initContainers).toBeUndefined();
    const execs = h.fake.calls.filter((c) => c.verb === 'exec');
    const release = execs.findIndex((c) => isRelease(c as never));
    const kind = (c: (typeof execs)[number]) => (c.command?.[0] === 'true' ? 'true' : c.command?.[0] === 'tar' ? 'tar' : 'untar');
    const where = (c: (typeof execs)[number]) => `${c.name === pod?.name ? c.container : 'job'} ${kind(c)}`;
    // In: the job pod's archive starts at once; an exec finds the helper there, then the workspace
    // from the job pod and the file commands from the runner go in, then the release.
    const inward = execs.slice(0, release).map(where);
    expect([...inward].sort()).toEqual(['job tar', `${IO_CONTAINER} true`, `${IO_CONTAINER} untar`, `${IO_CONTAINER} untar`]);
    expect(inward.indexOf(`${IO_CONTAINER} true`)).toBeLessThan(inward.indexOf(`${IO_CONTAINER} untar`));
    // Out: the file commands to the runner, then workspace and home to the job pod.
    expect(execs.slice(release + 1).map(where)).toEqual([`${IO_CONTAINER} tar`, `${IO_CONTAINER} tar`, 'job untar']);
    expect(writes().slice(-2)).toEqual([`delete pods/${pod?.name}`, `delete secrets/${created('secrets')?.name}`]);
  });

  it('tries the exec into the helper container again while the kubelet does not know it yet (500), and copies once it runs', async () => {
    await preparedCopy();
    await mkdir(join(h.work, '_temp', '_runner_file_commands'), { recursive: true });
    h.fake
      .failNext('exec', 'pods', apiError(500), { times: 3 })
      .onExec(isUntar, { exitCode: 0 })
      .onExec((o) => o.command[0] === 'tar', { exitCode: 0, stdout: Buffer.alloc(1024) })
      .onExec(isRelease, (o) => {
        finishStepPod(h.fake, NS, o.pod, 0);
        return { exitCode: 0 };
      });
    const run = await step(args({ systemMountVolumes: stepMounts().slice(1) }));
    expect(run.error).toBeUndefined();
    const execs = h.fake.calls.filter((c) => c.verb === 'exec');
    expect(execs.slice(0, 4).map((c) => `${c.container} ${c.command?.[0]}`)).toEqual(Array(4).fill(`${IO_CONTAINER} true`));
    expect(execs.filter(isRelease as never)).toHaveLength(1);
  });

  it("fails with the pod's reason when the helper container cannot start, without a release", async () => {
    await preparedCopy();
    h.fake.reactors.splice(0, 1, kubelet({ failToStart: (p) => (p.metadata?.name?.includes('-step-') ? 'ErrImagePull' : undefined) }));
    h.fake.failNext('exec', 'pods', apiError(500), { times: Infinity });
    const run = await step(args({ systemMountVolumes: stepMounts().slice(1) }));
    expect(run.error).toMatchObject({ code: 'POD_FAILED', message: expect.stringContaining('ErrImagePull') });
    expect(h.fake.calls.some((c) => c.verb === 'exec' && isRelease(c as never))).toBe(false);
    expect(writes().slice(-2)).toEqual([`delete pods/${created('pods')?.name}`, `delete secrets/${created('secrets')?.name}`]);
  });

  it('gives up at once when the exec into the helper container is forbidden (403)', async () => {
    await preparedCopy();
    h.fake.failNext('exec', 'pods', apiError(403, { reason: 'Forbidden' }));
    const run = await step(args({ systemMountVolumes: stepMounts().slice(1) }));
    expect(run.error).toMatchObject({ status: 403 });
    expect(h.fake.calls.filter((c) => c.verb === 'exec')).toHaveLength(1);
  });

  it('sends nothing to the job pod when the file commands coming back are refused', async () => {
    await preparedCopy();
    await mkdir(join(h.work, '_temp', '_runner_file_commands'), { recursive: true });
    const fileCommandsBack = (o: { pod: string; command: readonly string[] }) => o.pod !== state.jobPod && o.command.includes('_temp/_runner_file_commands');
    h.fake
      .onExec(isUntar, { exitCode: 0 })
      .onExec((o) => o.command[0] === 'tar' && fileCommandsBack(o), { exitCode: 2, stderr: 'tar: broken' })
      .onExec((o) => o.command[0] === 'tar', { exitCode: 0, stdout: Buffer.alloc(1024) })
      .onExec(isRelease, (o) => {
        finishStepPod(h.fake, NS, o.pod, 0);
        return { exitCode: 0 };
      });
    const run = await step(args({ systemMountVolumes: stepMounts() }));
    expect(run.error).toMatchObject({ code: 'COPY_FAILED', message: expect.stringContaining('tar: broken') });
    const pod = created('pods')?.name;
    const execs = h.fake.calls.filter((c) => c.verb === 'exec');
    const release = execs.findIndex((c) => isRelease(c as never));
    expect(execs.slice(release + 1).filter((c) => c.name !== pod)).toEqual([]);
  });

  it('deletes the pod and its Secret when the copy into the step pod fails, and never releases it', async () => {
    await preparedCopy();
    await mkdir(join(h.work, '_temp', '_runner_file_commands'), { recursive: true });
    h.fake
      .onExec(isUntar, { exitCode: 1, stderr: 'tar: no space left on device' })
      .onExec((o) => o.command[0] === 'tar', { exitCode: 0, stdout: Buffer.alloc(1024) });
    const run = await step(args({ systemMountVolumes: stepMounts() }));
    expect(run.error).toMatchObject({ code: 'COPY_FAILED', message: expect.stringContaining('no space left on device') });
    expect(h.fake.calls.some((c) => c.verb === 'exec' && isRelease(c as never))).toBe(false);
    expect(writes().slice(-2)).toEqual([`delete pods/${created('pods')?.name}`, `delete secrets/${created('secrets')?.name}`]);
  });
});
