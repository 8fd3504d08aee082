import type { V1Pod } from '@kubernetes/client-node';
import { apiError, type FakeObject } from '@zfs-runner-hooks/kube/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CacheCleanupInput, JobCache } from '../cache.js';
import { hookLabels } from '../pod/labels.js';
import { commandHarness, jobContainer, NS, preparedState, RUNNER, type Harness, type HarnessOptions } from '../testing/command-harness.js';
import { kubelet } from '../testing/kubelet.js';
import { cleanupJob } from './cleanup-job.js';

let h: Harness;
const start = async (options: HarnessOptions = {}) => {
  h = await commandHarness(options);
  h.fake.reactors.push(kubelet());
  h.fake.onLogs('job', { text: 'zrh-os: other\n' });
};
afterEach(async () => h?.cleanup());

/** prepare_job of a job with a registry login; its state as the runner holds it. */
const prepared = () => preparedState(h, jobContainer(h, { registry: { username: 'bot', password: 'pw', serverUrl: 'ghcr.io' } }));
const cleanup = (state: unknown) => h.command((ctx) => cleanupJob(ctx, state, h.responseFile));
const deletes = () => h.fake.calls.filter((c) => c.verb === 'delete').map((c) => `${c.plural}/${c.name}`);
/** A pod of this runner's jobs (labelled) or someone else's. */
const pod = (name: string, labels: Record<string, string> = hookLabels(RUNNER, 'step')) =>
  h.fake.put('pods', { metadata: { name, namespace: NS, labels } } as FakeObject, 'ADDED');

describe('cleanupJob', () => {
  beforeEach(async () => {
    await start();
  });

  it("deletes the job pod, the labelled pods and the state's Secrets, then ends the job", async () => {
    const state = await prepared();
    pod('runner-1-step-left');
    pod('someone-else', { app: 'web' });
    const before = h.fake.calls.length;
    const run = await cleanup(state);
    expect(run.error).toBeUndefined();
    expect(h.fake.calls.slice(before).find((c) => c.verb === 'list')).toMatchObject({
      plural: 'pods',
      labelSelector: expect.stringContaining(`runner-pod=${RUNNER}`),
    });
    expect(deletes().sort()).toEqual([`pods/${state.jobPod}`, 'pods/runner-1-step-left', `secrets/${state.secrets[0]}`].sort());
    expect(h.fake.store.has(`pods/${NS}/someone-else`)).toBe(true);
    expect(await h.response()).toEqual({});
    // No state of this job is valid afterwards.
    const again = await h.command((ctx) => ctx.states.open(state, h.responseFile).then(() => undefined));
    expect(again.error).toMatchObject({ code: 'STATE_INVALID' });
  });

  it('without a state (prepare_job failed) deletes the labelled pods and only the Secrets its journal names', async () => {
    h.fake.reactors.splice(0, 1, kubelet({ failToStart: () => 'ErrImagePull' }));
    h.fake.failNext('delete', 'secrets', apiError(503));
    await expect(prepared()).rejects.toMatchObject({ code: 'POD_FAILED' });
    const secret = h.fake.calls.find((c) => c.verb === 'create' && c.plural === 'secrets')?.name;
    const jobPod = h.fake.calls.find((c) => c.verb === 'create' && c.plural === 'pods')?.name;
    h.fake.put('secrets', { metadata: { name: 'github-app-key', namespace: NS } }, 'ADDED');
    h.fake.calls.length = 0;
    const run = await cleanup(null);
    expect(run.error).toBeUndefined();
    expect(run.log.lines[0]).toMatch(/^No job state \(prepare_job failed or did not finish\)\. Cleaning up by label only/);
    expect(deletes().sort()).toEqual([`pods/${jobPod}`, `secrets/${secret}`]);
    expect(h.fake.store.has(`secrets/${NS}/github-app-key`)).toBe(true);
    expect(h.fake.calls.filter((c) => c.plural === 'secrets' && c.verb !== 'delete')).toEqual([]);
  });

  it('acts on nothing a forged state names: pods by label, Secrets by journal', async () => {
    const state = await prepared();
    h.fake.put('secrets', { metadata: { name: 'github-app-key', namespace: NS } }, 'ADDED');
    pod('victim', { app: 'db' });
    const run = await cleanup({ ...state, jobPod: 'victim', secrets: ['github-app-key'] });
    expect(run.error).toBeUndefined();
    expect(run.log.lines.find((l) => l.startsWith('warning:'))).toMatch(/not written by this hook for this job[\s\S]*Cleaning up by label only/);
    expect(deletes().sort()).toEqual([`pods/${state.jobPod}`, `secrets/${state.secrets[0]}`]);
    expect(h.fake.store.has(`pods/${NS}/victim`)).toBe(true);
    expect(h.fake.store.has(`secrets/${NS}/github-app-key`)).toBe(true);
  });

  it('reports what it could not delete as warnings and still succeeds', async () => {
    const state = await prepared();
    h.fake.failNext('delete', 'pods', apiError(500)).failNext('list', 'pods', apiError(403));
    const run = await cleanup(state);
    expect(run.error).toBeUndefined();
    expect(run.log.lines.filter((l) => l.startsWith('warning:'))).toEqual([
      expect.stringContaining(`Could not list pods labelled runner-pod=${RUNNER}`),
      expect.stringContaining(`Could not delete pods "${state.jobPod}"`),
    ]);
    expect(run.log.lines.at(-1)).toMatch(
      /Cleaned up 0 pod\(s\) and 1 secret\(s\) of runner runner-1; not deleted \(see the warnings\): 1 pod\(s\), 0 secret\(s\)/,
    );
  });
});

describe('cleanupJob with a build cache', () => {
  it('hands the cache the clone of a genuine state, and looks for leftovers without one', async () => {
    const seen: CacheCleanupInput[] = [];
    const cache: JobCache = {
      check: async () => undefined,
      plan: async (input) => ({
        volumes: [],
        volumeMounts: [],
        env: [],
        state: { pvc: 'clone-1' },
        afterPodCreated: async () => ({ pvc: 'clone-1', runner: input.runnerPod.name }),
      }),
      cleanup: async (input) => void seen.push(input),
    };
    await start({ cache });
    const state = await prepared();
    await cleanup(state);
    await cleanup(null);
    expect(seen.map((s) => [s.state, s.jobPod, s.job])).toEqual([
      [{ pvc: 'clone-1', runner: RUNNER }, state.jobPod, { prepared: true, stepsRun: 0, stepsFailed: 0 }],
      [undefined, undefined, { prepared: false, stepsRun: 0, stepsFailed: 0 }],
    ]);
    expect((h.fake.store.get(`pods/${NS}/${RUNNER}`) as V1Pod).metadata?.name).toBe(RUNNER);
  });
});
