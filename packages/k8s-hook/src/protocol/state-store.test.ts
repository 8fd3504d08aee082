import { chmod, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sampleJobState, WORK } from '../testing/fixtures.js';
import { JobStateStore, type StateStoreOptions } from './state-store.js';

const uid = process.getuid?.() ?? 0;
const RESPONSE = `${WORK}/_temp/_runner_hook_responses/0000.json`;
let root: string;
let options: StateStoreOptions;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'zrh-state-store-'));
  options = { dir: join(root, 'state'), uid, runnerPodName: 'runner-1', namespace: 'ci', workspaceMode: 'auto' };
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** One hook process per command, like the runner starts them. */
const hook = (over: Partial<StateStoreOptions> = {}) => new JobStateStore({ ...options, ...over });
/** The JSON the runner passes back (it re-serialises what it read). */
const roundTrip = (v: unknown) => JSON.parse(JSON.stringify(v)) as Record<string, any>;

/** prepare_job, committed: the state the runner now holds. */
async function prepared(): Promise<Record<string, any>> {
  const h = hook();
  await h.startJob(WORK);
  const state = roundTrip(await h.seal(sampleJobState()));
  await h.commit();
  return state;
}

/** A step that succeeds (committed) or fails (not committed); returns the state it handed out. */
async function step(held: unknown, ok: boolean): Promise<Record<string, any>> {
  const h = hook();
  const state = await h.open(held, RESPONSE);
  const next = roundTrip(await h.seal({ ...state, steps: { run: state.steps.run + 1, failed: state.steps.failed + (ok ? 0 : 1) } }));
  if (ok) await h.commit();
  return next;
}

describe('JobStateStore', () => {
  it('accepts the state of each successful command, in turn', async () => {
    const s1 = await prepared();
    expect(s1.seal.seq).toBe(1);
    const s2 = await step(s1, true);
    const s3 = await step(s2, true);
    expect(s3.seal.seq).toBe(3);
    expect((await hook().open(s3, RESPONSE)).steps).toEqual({ run: 2, failed: 0 });
  });

  it('refuses a replayed older state of the same job', async () => {
    const s1 = await prepared();
    const s2 = await step(s1, true);
    await step(s2, true);
    await expect(hook().open(s2, RESPONSE)).rejects.toMatchObject({
      code: 'STATE_INVALID',
      message: expect.stringContaining('an older state of this job (number 2; the runner accepted number 3): a replayed state is not used'),
    });
    await expect(hook().open(s1, RESPONSE)).rejects.toMatchObject({ code: 'STATE_INVALID', message: expect.stringContaining('older state') });
  });

  it("keeps the state from before a failed step and never accepts the failed step's own state", async () => {
    const s1 = await prepared();
    const failed = await step(s1, false);
    await expect(hook().open(failed, RESPONSE)).rejects.toMatchObject({
      code: 'STATE_INVALID',
      message: expect.stringContaining('number 2, which the runner never accepted (it accepted number 1'),
    });
    const s2 = await step(s1, true);
    expect(s2.seal.seq).toBe(3);
    await expect(hook().open(failed, RESPONSE)).rejects.toMatchObject({ code: 'STATE_INVALID', message: expect.stringContaining('older state') });
    await expect(hook().open(s2, RESPONSE)).resolves.toMatchObject({ jobPod: 'runner-1-job-ab12' });
  });

  it.each<[string, (s: Record<string, any>) => void]>([
    ['jobPod', (s) => (s.jobPod = 'another-job-pod')],
    ['secrets', (s) => (s.secrets = ['github-app-key'])],
    ['workspace.mode', (s) => (s.workspace.mode = 'copy')],
    ['clone.policy.promote', (s) => (s.clone.policy.promote = true)],
  ])('refuses a state whose %s was forged, without quoting it', async (_what, forge) => {
    const s = await prepared();
    forge(s);
    const err = await hook()
      .open(s, RESPONSE)
      .catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'STATE_INVALID', message: expect.stringContaining('was not written by this hook for this job: its MAC does not match') });
    expect((err as Error).message).not.toMatch(/another-job-pod|github-app-key/);
  });

  it('refuses an unsealed state', async () => {
    await prepared();
    await expect(hook().open(sampleJobState(), RESPONSE)).rejects.toMatchObject({ code: 'STATE_INVALID', message: expect.stringContaining('carries no seal') });
  });

  it('refuses every state of an earlier job once prepare_job ran again (a new key)', async () => {
    const old = await prepared();
    await prepared();
    await expect(hook().open(old, RESPONSE)).rejects.toMatchObject({ code: 'STATE_INVALID', message: expect.stringContaining('MAC does not match') });
  });

  it('refuses a state sealed for another runner pod (another key)', async () => {
    const other = hook({ runnerPodName: 'runner-2' });
    await other.startJob(WORK);
    const foreign = roundTrip(await other.seal({ ...sampleJobState(), runnerPod: { name: 'runner-2', uid: 'u2' } }));
    await other.commit();
    await prepared();
    await expect(hook().open(foreign, RESPONSE)).rejects.toMatchObject({ message: expect.stringContaining('MAC does not match') });
  });

  it.each<[string, Partial<StateStoreOptions>, string | undefined, string]>([
    ['namespace', { namespace: 'other' }, undefined, 'its namespace "ci" is not this hook\'s "other"'],
    ['configured mode', { workspaceMode: 'copy' }, undefined, 'its workspace mode "volume" is not the configured "copy"'],
    [
      'work directory',
      {},
      '/srv/runner/_work/_temp/_runner_hook_responses/1.json',
      'its work directory "/home/runner/_work" is not the runner\'s "/srv/runner/_work"',
    ],
  ])("refuses a genuine state whose %s is not the hook's own", async (_what, over, response, message) => {
    const s = await prepared();
    await expect(hook(over).open(s, response ?? RESPONSE)).rejects.toMatchObject({
      code: 'STATE_INVALID',
      message: expect.stringContaining(`does not belong to this runner: ${message}`),
    });
  });

  it('refuses any state once cleanup_job ended the job', async () => {
    const s = await prepared();
    const h = hook();
    await h.open(s, RESPONSE);
    await h.endJob();
    await expect(hook().open(s, RESPONSE)).rejects.toMatchObject({ code: 'STATE_INVALID', message: expect.stringContaining('has no state key') });
  });

  it('refuses a state when the key folder is missing (another runner container)', async () => {
    const s = await prepared();
    await rm(options.dir, { recursive: true });
    await expect(hook().open(s, RESPONSE)).rejects.toMatchObject({ code: 'STATE_INVALID', message: expect.stringContaining('has no state key') });
  });

  it('refuses to use a key folder that others can enter, owned by another user, or a symbolic link', async () => {
    const s = await prepared();
    await chmod(options.dir, 0o755);
    await expect(hook().open(s, RESPONSE)).rejects.toMatchObject({ code: 'STATE_DIR_UNSAFE', message: expect.stringContaining('has mode 0755') });
    await chmod(options.dir, 0o700);
    await expect(hook({ uid: uid + 1 }).open(s, RESPONSE)).rejects.toMatchObject({
      code: 'STATE_DIR_UNSAFE',
      message: expect.stringContaining("not by the hook's uid"),
    });
    await symlink(options.dir, join(root, 'link'));
    await expect(hook({ dir: join(root, 'link') }).open(s, RESPONSE)).rejects.toMatchObject({
      code: 'STATE_DIR_UNSAFE',
      message: expect.stringContaining('is a symbolic link'),
    });
  });

  it('refuses a key folder inside _work', async () => {
    await mkdir(join(root, '_work', '_temp'), { recursive: true });
    await expect(hook({ dir: join(root, '_work', '_temp', 'k') }).startJob(join(root, '_work'))).rejects.toMatchObject({
      code: 'STATE_DIR_UNSAFE',
      message: expect.stringContaining("inside the runner's _work"),
    });
  });

  it('says there is no state when the runner passes none', async () => {
    await expect(hook().open(null, RESPONSE)).rejects.toMatchObject({
      code: 'STATE_INVALID',
      message: expect.stringMatching(/^No job state: prepare_job has not completed for this job\. /),
    });
  });

  it('counts steps that started but did not succeed, from its own journal', async () => {
    const s = await prepared();
    const h = hook();
    await h.open(s, RESPONSE);
    await h.markStep('a', 'start');
    await h.markStep('a', 'ok');
    await h.markStep('b', 'start');
    await h.markStep('c', 'start');
    await h.markStep('c', 'ok');
    const later = hook();
    await later.open(s, RESPONSE);
    expect(await later.unsuccessfulSteps()).toBe(1);
  });

  it('journals Secrets: those created and not deleted again are outstanding, also for a later process without a state, until the job ends', async () => {
    const s = await prepared();
    const h = hook();
    await h.open(s, RESPONSE);
    await h.markSecrets(['runner-1-reg-aaaaaaaa', 'runner-1-env-bbbbbbbb'], 'created');
    await h.markSecrets(['runner-1-env-bbbbbbbb'], 'deleted');
    await h.markSecrets(['runner-1-env-cccccccc'], 'created');
    await h.markSecrets([], 'deleted');
    expect(await hook().outstandingSecrets(RESPONSE)).toEqual(['runner-1-reg-aaaaaaaa', 'runner-1-env-cccccccc']);
    expect(await hook().unsuccessfulSteps()).toBe(0);
    await hook().endJob();
    expect(await hook().outstandingSecrets(RESPONSE)).toEqual([]);
  });

  it('starts each job with an empty journal', async () => {
    const h = hook();
    await h.startJob(WORK);
    await h.markSecrets(['runner-1-reg-aaaaaaaa'], 'created');
    await hook().startJob(WORK);
    expect(await hook().outstandingSecrets(RESPONSE)).toEqual([]);
  });

  it('does not read a journal from a folder inside _work, even without a state', async () => {
    const work = join(root, '_work');
    await mkdir(join(work, '_temp', '_runner_hook_responses'), { recursive: true });
    const response = join(work, '_temp', '_runner_hook_responses', '0000.json');
    await expect(hook({ dir: join(work, '_temp', 'k') }).outstandingSecrets(response)).rejects.toMatchObject({
      code: 'STATE_DIR_UNSAFE',
      message: expect.stringContaining("inside the runner's _work"),
    });
  });
});
