/**
 * A hostile job against the hook's response file and job state (issue 10, item 2), on the real
 * node through the bundled hook driven like the runner. In volume mode the job pod mounts all of
 * `_work`, `_temp/_runner_hook_responses` included: its steps (image zrh.local/hostile-state:1,
 * scripts under /hostile/) swap a FIFO, a symbolic link or a hard link in for the response file,
 * or rewrite it with a forged or replayed state once the hook has written it. Each attack must
 * fail with a clear message and change nothing outside the job: the runner-side files, the other
 * pod and secret of the namespace, and the state the runner holds.
 */
import { createHash } from 'node:crypto';
import { chown, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../cluster/harness.js';
import type { WorkMode } from '../../simulator/runner-pod.js';
import type { HookCall } from '../../simulator/runner.js';
import type { StartedRunner } from '../../simulator/start.js';
import { adminKubeClient, execText, realNodePod, waitForRunningPod } from '../node/real-node.js';
import { createHookSuite, IMAGES, jobPodOf, labelledObjects, names, output, startRunner, type HookSuite } from './helpers.js';

/** Another job's pod and a secret in the same namespace: what a forged state names. */
const VICTIM_POD = 'victim';
const VICTIM_SECRET = 'victim-secret';
/** What the FIFO's writer feeds the runner: a forged response. */
const FORGED_RESPONSE = JSON.stringify({ state: { version: 1, namespace: 'x', jobPod: VICTIM_POD, secrets: [VICTIM_SECRET] } });

/** The runner image's user (uid 1001, group docker 123). */
const RUNNER_USER = { uid: 1001, gid: 123 };

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

describe('a hostile job against the response file and the job state', () => {
  let suite: HookSuite;
  let kube: KubeClient;
  /** Set while a call's response is being forged: the runner reads it only once the job's process has rewritten it. */
  let forging = false;
  /** Set while a call's response is being saved by the job's process: the runner reads it only once the copy is there. */
  let saving: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    suite = await createHookSuite('hook-hostile-state');
    kube = await adminKubeClient();
    await suite.core.createNamespacedPod({
      namespace: suite.namespace,
      body: realNodePod(VICTIM_POD, { containers: [{ name: 'job', image: IMAGES.busybox, command: ['tail', '-f', '/dev/null'] }] }),
    });
    await suite.core.createNamespacedSecret({ namespace: suite.namespace, body: { metadata: { name: VICTIM_SECRET }, stringData: { token: 'keep me' } } });
    await waitForRunningPod(suite.core, suite.namespace, VICTIM_POD);
  });
  afterAll(async () => {
    kube?.close();
    await suite?.ns.delete();
  });

  /** A runner whose job runs the hostile image, prepared; plus the runner-side files to watch. */
  async function hostileJob(mode: WorkMode): Promise<{ runner: StartedRunner; watched: string[]; hashes: () => Promise<string[]> }> {
    const runner = await startRunner(suite, mode, {
      // The runner's user runs the hook and owns _work, as in the runner image.
      hookUser: RUNNER_USER,
      beforeReadingResponse: async (file) => {
        if (saving) await saving();
        if (!forging) return;
        await waitFor(
          `the job's process to rewrite ${file}`,
          () => readFile(file, 'utf8').catch(() => ''),
          (t) => t.includes('forgedBy'),
          { timeoutMs: 30_000, intervalMs: 50 },
        );
      },
    });
    // A runner-side file outside _work (plays the runner's .credentials).
    const credentials = join(runner.root, '.credentials');
    await writeFile(credentials, '{"scheme":"OAuth","data":{"clientId":"runner"}}\n', { mode: 0o600 });
    const watched = [credentials, runner.kubeconfigPath, join(runner.root, 'k8s', 'index.js'), runner.layout.eventPath];
    const prepare = await runner.simulator.prepareJob({ image: IMAGES.hostileState });
    expect(prepare.ok, output(prepare)).toBe(true);
    return { runner, watched, hashes: () => Promise.all(watched.map(sha256)) };
  }

  /** The other pod and secret are still there, and nothing ran in the other pod. */
  async function expectVictimsUntouched(): Promise<void> {
    const pod = await suite.core.readNamespacedPod({ name: VICTIM_POD, namespace: suite.namespace });
    expect(pod.metadata?.deletionTimestamp).toBeUndefined();
    const secret = await suite.core.readNamespacedSecret({ name: VICTIM_SECRET, namespace: suite.namespace });
    expect(Buffer.from(secret.data?.['token'] ?? '', 'base64').toString()).toBe('keep me');
    const ran = await execText(kube, { namespace: suite.namespace, pod: VICTIM_POD, container: 'job' }, ['sh', '-c', 'ls /tmp']);
    expect(ran.stdout).not.toContain('hostile-ran');
  }

  /** A step after the attack that would leave a mark wherever it ran. */
  const MARKING_STEP = 'touch /tmp/hostile-ran; echo "ran in $(hostname)"';

  /** cleanup_job leaves nothing of the runner behind and reports a forged state as such. */
  async function cleanUp(runner: StartedRunner, stateRefused: boolean): Promise<HookCall> {
    const cleanup = await runner.simulator.cleanupJob();
    expect(cleanup.exitCode, output(cleanup)).toBe(0);
    if (stateRefused) {
      expect(cleanup.stdout).toContain('::warning::');
      expect(cleanup.stdout).toContain(`Cleaning up by label only: the pods labelled runner-pod=${runner.pod.name}`);
    } else {
      expect(cleanup.stdout).not.toContain('Cleaning up by label only');
    }
    await waitFor(
      "the runner's objects to be gone",
      () => labelledObjects(suite, runner.pod.name),
      (o) => names(o).pods.length === 0 && names(o).secrets.length === 0,
      { timeoutMs: 30_000 },
    );
    await expectVictimsUntouched();
    return cleanup;
  }

  /** Runs a failing attack step and checks that it changed neither the state nor the runner's files. */
  async function refusedAttack(script: string, message: string, mode: WorkMode = 'volume'): Promise<void> {
    const { runner, hashes } = await hostileJob(mode);
    try {
      const before = await hashes();
      const stateBefore = runner.simulator.state;
      const started = Date.now();
      const attack = await runner.simulator.runScript(script, { env: { HOSTILE_FORGED: FORGED_RESPONSE } });
      expect(attack.exitCode, output(attack)).toBe(1);
      expect(Date.now() - started).toBeLessThan(60_000);
      expect(attack.stdout).toContain(
        `::error::The hook's response was not written: the response file ${attack.input.responseFile} is no longer the file the runner created (${message}`,
      );
      expect(runner.simulator.state).toEqual(stateBefore);
      expect(await hashes()).toEqual(before);
      // The job goes on with the state the runner kept.
      const next = await runner.simulator.runScript('echo still here');
      expect(next.ok, output(next)).toBe(true);
      expect(next.stdout).toContain('still here');
      await cleanUp(runner, false);
      expect(await hashes()).toEqual(before);
    } finally {
      await runner.dispose();
    }
  }

  it('a FIFO swapped in for the response file, nobody reading: the hook refuses at once and does not hang', async () => {
    await refusedAttack('/hostile/fifo.sh', 'it is a FIFO or socket');
  });

  it('a FIFO swapped in with a reader holding it open: the hook refuses and writes nothing into it', async () => {
    await refusedAttack('/hostile/fifo.sh reader', 'it is a FIFO');
  });

  it('a symbolic link to a runner-side file outside _work: refused, the file unchanged', async () => {
    const { runner, watched, hashes } = await hostileJob('volume');
    try {
      const before = await hashes();
      const stateBefore = runner.simulator.state;
      const attack = await runner.simulator.runScript(`/hostile/symlink.sh ${watched[0]}`);
      expect(attack.exitCode, output(attack)).toBe(1);
      expect(attack.stdout).toContain(`is no longer the file the runner created (it is a symbolic link)`);
      expect(runner.simulator.state).toEqual(stateBefore);
      expect(await hashes()).toEqual(before);
      await cleanUp(runner, false);
    } finally {
      await runner.dispose();
    }
  });

  it("a hard link to the runner's event file under _work: refused, the event file unchanged", async () => {
    await refusedAttack('/hostile/hardlink.sh /__w/_temp/_github_workflow/event.json', 'it has 2 hard links');
  });

  it('a forged state written after the hook exits (another pod, another secret, copy mode, promotion): never acted on', async () => {
    const { runner, hashes } = await hostileJob('volume');
    try {
      const before = await hashes();
      const jobPod = jobPodOf(runner.simulator.state);
      forging = true;
      const attack = await runner.simulator.runScript(`/hostile/forge.sh ${VICTIM_POD} ${VICTIM_SECRET}`).finally(() => {
        forging = false;
      });
      // The hook did its part and exited 0; the job's process then rewrote the response, and the runner keeps what it read.
      expect(attack.ok, output(attack)).toBe(true);
      expect(runner.simulator.state).toMatchObject({
        jobPod: VICTIM_POD,
        secrets: [VICTIM_SECRET],
        workspace: { mode: 'copy' },
        clone: { policy: { promote: true } },
      });

      const next = await runner.simulator.runScript(MARKING_STEP);
      expect(next.exitCode, output(next)).toBe(1);
      expect(next.stdout).toContain(
        '::error::The job state the runner passed back was not written by this hook for this job: its MAC does not match its content',
      );
      expect(next.stdout).not.toContain('ran in');
      const inJob = await execText(kube, { namespace: suite.namespace, pod: jobPod, container: 'job' }, ['sh', '-c', 'ls /tmp']);
      expect(inJob.stdout).not.toContain('hostile-ran');

      await cleanUp(runner, true);
      expect(await hashes()).toEqual(before);
    } finally {
      forging = false;
      await runner.dispose();
    }
  });

  it('an older genuine state of the same job replayed after the hook exits: refused as a replay', async () => {
    const { runner, hashes } = await hostileJob('volume');
    try {
      const before = await hashes();
      const jobPod = jobPodOf(runner.simulator.state);
      saving = () =>
        waitFor(
          "the job's process to save the response",
          () =>
            execText(kube, { namespace: suite.namespace, pod: jobPod, container: 'job' }, ['sh', '-c', 'test -s /tmp/saved.json && echo saved']).then(
              (r) => r.stdout,
              () => '',
            ),
          (t) => t.includes('saved'),
          { timeoutMs: 30_000, intervalMs: 100 },
        ).then(() => undefined);
      const save = await runner.simulator.runScript('/hostile/save.sh').finally(() => {
        saving = undefined;
      });
      expect(save.ok, output(save)).toBe(true);
      const saved = runner.simulator.state as { seal: { seq: number } };
      expect(saved.seal.seq).toBe(2);
      const plain = await runner.simulator.runScript('echo a step in between');
      expect(plain.ok, output(plain)).toBe(true);
      forging = true;
      const replay = await runner.simulator.runScript('/hostile/replay.sh').finally(() => {
        forging = false;
      });
      expect(replay.ok, output(replay)).toBe(true);
      expect(runner.simulator.state).toEqual(saved);

      const next = await runner.simulator.runScript(MARKING_STEP);
      expect(next.exitCode, output(next)).toBe(1);
      expect(next.stdout).toContain(
        '::error::The job state the runner passed back is an older state of this job (number 2; the runner accepted number 4): a replayed state is not used',
      );
      expect(next.stdout).not.toContain('ran in');

      await cleanUp(runner, true);
      expect(await hashes()).toEqual(before);
    } finally {
      forging = false;
      await runner.dispose();
    }
  });

  it("the hook's scratch folder in _work replaced by a link to a runner folder: the next step is refused, nothing written or opened up there", async () => {
    const { runner, hashes } = await hostileJob('volume');
    try {
      // A folder of the runner's user outside _work (plays its home): the hook could write there.
      const target = join(runner.root, 'home');
      await mkdir(target, { mode: 0o755 });
      await writeFile(join(target, '.bashrc'), 'echo runner\n');
      await chown(target, RUNNER_USER.uid, RUNNER_USER.gid);
      const listing = async () => [(await readdir(target)).sort(), (await stat(target)).mode & 0o777] as const;
      const before = await hashes();
      const listed = await listing();
      const plant = await runner.simulator.runScript(`rm -rf /__w/_temp/_zrh && ln -s ${target} /__w/_temp/_zrh && echo planted`);
      expect(plant.ok, output(plant)).toBe(true);
      expect(plant.stdout).toContain('planted');

      const next = await runner.simulator.runScript(MARKING_STEP);
      expect(next.exitCode, output(next)).toBe(1);
      expect(next.stdout).toContain(
        `::error::${runner.layout.workDir}/_temp/_zrh in the runner's _work is a symbolic link or not a folder; the hook does not write through it`,
      );
      expect(next.stdout).not.toContain('ran in');
      expect(await listing()).toEqual(listed);
      expect(await hashes()).toEqual(before);
      await cleanUp(runner, false);
    } finally {
      await runner.dispose();
    }
  });

  it('copy mode: the job pod cannot reach the response file, so every attack finds nothing', async () => {
    const { runner, watched, hashes } = await hostileJob('copy');
    try {
      const before = await hashes();
      for (const script of [
        '/hostile/fifo.sh reader',
        `/hostile/symlink.sh ${watched[0]}`,
        '/hostile/hardlink.sh /__w/_temp/_github_workflow/event.json',
        `/hostile/forge.sh ${VICTIM_POD} ${VICTIM_SECRET}`,
      ]) {
        const stateBefore = runner.simulator.state as { seal: { seq: number } };
        const attack = await runner.simulator.runScript(script);
        expect(attack.ok, output(attack)).toBe(true);
        expect(attack.stderr + attack.stdout).toContain('hostile: no response file under /__w/_temp/_runner_hook_responses');
        expect((runner.simulator.state as { seal: { seq: number } }).seal.seq).toBe(stateBefore.seal.seq + 1);
      }
      const next = await runner.simulator.runScript(MARKING_STEP);
      expect(next.ok, output(next)).toBe(true);
      await cleanUp(runner, false);
      expect(await hashes()).toEqual(before);
    } finally {
      await runner.dispose();
    }
  });
});
