import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { apiError } from '@zfs-runner-hooks/kube/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunContainerStepArgs } from '../protocol/input.js';
import { commandHarness, type Harness } from '../testing/command-harness.js';
import { kubelet } from '../testing/kubelet.js';
import { prepareJob } from './prepare-job.js';
import { runContainerStep } from './run-container-step.js';

let h: Harness;
let state: Record<string, any>;
beforeEach(async () => {
  h = await commandHarness();
  h.fake.reactors.push(kubelet());
  h.fake.onLogs('job', { text: 'zrh-os: other\n' });
  const run = await h.command((ctx) =>
    prepareJob(ctx, { container: { image: 'node:20', entryPointArgs: [], environmentVariables: {}, portMappings: [], systemMountVolumes: h.mounts(), userMountVolumes: [] }, services: [] }, h.responseFile),
  );
  if (run.error) throw run.error;
  state = JSON.parse(JSON.stringify((await h.response()).state)) as Record<string, any>;
  h.fake.calls.length = 0;
});
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
  it('creates the env Secret, then the step pod, and deletes both once the step ended', async () => {
    const run = await step();
    expect(run.error).toBeUndefined();
    const secret = created('secrets');
    const pod = created('pods');
    expect(writes()).toEqual([`create secrets/${secret?.name}`, `create pods/${pod?.name}`, `delete pods/${pod?.name}`, `delete secrets/${secret?.name}`]);
    expect((secret?.body as V1Secret).stringData).toEqual({ GREETING: 'hello' });
    expect(run.log.lines).toContainEqual(expect.stringContaining('Not passed to the step (a Kubernetes Secret key allows only letters, digits, \'-\', \'_\' and \'.\'): BAD NAME'));
    const container = (pod?.body as V1Pod).spec?.containers.find((c) => c.name === 'step');
    expect(container?.envFrom).toEqual([{ secretRef: { name: secret?.name } }]);
    expect(h.fake.calls.find((c) => c.verb === 'delete' && c.plural === 'pods')?.query).toEqual({ gracePeriodSeconds: 0 });
    expect((await h.response()).state.steps).toEqual({ run: 1, failed: 0 });
    expect(await run.ctx.states.outstandingSecrets(h.responseFile)).toEqual([state.secrets].flat().filter(Boolean));
  });

  it('fails with the container\'s exit code, and still deletes the pod and its Secret', async () => {
    h.fake.reactors.splice(0, 1, kubelet({ stepExitCode: 2 }));
    const run = await step();
    expect(run.error).toMatchObject({ name: 'StepFailedError', exitCode: 2 });
    expect(h.fake.all('pods').map((p) => p.metadata?.name).sort()).toEqual([state.jobPod, 'runner-1'].sort());
    expect(h.fake.all('secrets').map((s) => s.metadata?.name)).toEqual(state.secrets);
    expect((await h.response()).state.steps).toEqual({ run: 1, failed: 1 });
  });

  it('deletes the env Secret when the step pod cannot be created', async () => {
    h.fake.failNext('create', 'pods', apiError(503));
    const run = await step();
    expect(run.error).toMatchObject({ status: 503 });
    const secret = created('secrets')?.name;
    expect(writes()).toEqual([`create secrets/${secret}`, `create pods/${created('pods')?.name}`, `delete pods/${created('pods')?.name}`, `delete secrets/${secret}`]);
    expect(await run.ctx.states.outstandingSecrets(h.responseFile)).not.toContain(secret);
  });

  it('keeps a Secret it could not delete in the journal, for cleanup_job', async () => {
    h.fake.failNext('delete', 'secrets', apiError(500));
    const run = await step();
    expect(run.error).toBeUndefined();
    expect(await run.ctx.states.outstandingSecrets(h.responseFile)).toContain(created('secrets')?.name);
  });

  it('creates a registry Secret for the action\'s image and names it as the pull secret', async () => {
    const run = await step(args({ registry: { username: 'bot', password: 'pw', serverUrl: 'ghcr.io' } }));
    expect(run.error).toBeUndefined();
    const secrets = h.fake.calls.filter((c) => c.verb === 'create' && c.plural === 'secrets').map((c) => c.name);
    expect(secrets).toHaveLength(2);
    expect((created('pods')?.body as V1Pod).spec?.imagePullSecrets).toEqual([{ name: secrets[1] }]);
    expect(h.fake.calls.filter((c) => c.verb === 'delete' && c.plural === 'secrets').map((c) => c.name).sort()).toEqual([...secrets].sort());
  });

  it('refuses a Dockerfile action before any request', async () => {
    const run = await step(args({ image: undefined, dockerfile: 'Dockerfile' }));
    expect(run.error).toMatchObject({ code: 'UNSUPPORTED' });
    expect(h.fake.calls).toEqual([]);
  });
});
