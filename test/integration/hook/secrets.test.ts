/**
 * The hook's Secrets under its shipped Role, which may create and delete Secrets but not read
 * them (a list returns every Secret's data, the GitHub App's key included): registry and
 * container-step Secrets are deleted by name: by the names in the job state, and by those in the
 * hook's private journal when a command was killed or the state is missing or refused as forged.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkMode } from '../../simulator/runner-pod.js';
import type { StartedRunner } from '../../simulator/start.js';
import { createHookSuite, IMAGES, labelledObjects, names, output, startRunner, type HookSuite } from './helpers.js';

const CREDENTIALS = { username: 'zrh-user', password: 'zrh-registry-pass-8813' };
/** A Secret of someone else in the namespace (plays ARC's GitHub App secret). */
const VICTIM_SECRET = 'github-app';

describe("the hook's Secrets: created, deleted by name, never read", () => {
  let suite: HookSuite;
  let dir: string;

  beforeAll(async () => {
    suite = await createHookSuite('hook-secrets');
    dir = await mkdtemp(join(tmpdir(), 'zrh-secrets-'));
    await suite.core.createNamespacedSecret({
      namespace: suite.namespace,
      body: { metadata: { name: VICTIM_SECRET }, stringData: { key: 'app private key' } },
    });
  });
  afterAll(async () => {
    await suite?.ns.delete();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const secretsOf = async (runner: StartedRunner) => names(await labelledObjects(suite, runner.pod.name)).secrets;

  async function expectVictimUntouched(): Promise<void> {
    const secret = await suite.core.readNamespacedSecret({ name: VICTIM_SECRET, namespace: suite.namespace });
    expect(secret.metadata?.deletionTimestamp).toBeUndefined();
    expect(Buffer.from(secret.data?.['key'] ?? '', 'base64').toString()).toBe('app private key');
  }

  it.each<WorkMode>(['volume', 'copy'])(
    '%s mode: a job with registry credentials and a container step leaves no Secret behind, without a warning',
    async (mode) => {
      const runner = await startRunner(suite, mode);
      try {
        const prepare = await runner.simulator.prepareJob({ image: IMAGES.debian, credentials: CREDENTIALS });
        expect(prepare.ok, output(prepare)).toBe(true);
        const registry = await secretsOf(runner);
        expect(registry).toHaveLength(1);

        const step = await runner.simulator.runContainerStep({
          image: IMAGES.busybox,
          entryPoint: 'sh',
          args: ['-c', 'env'],
          inputs: { who: 'from-the-env-secret' },
        });
        expect(step.ok, output(step)).toBe(true);
        expect(step.stdout).toContain('INPUT_WHO=from-the-env-secret');
        // The step's env Secret went when the step ended; the job's registry Secret is still needed.
        expect(await secretsOf(runner)).toEqual(registry);

        const cleanup = await runner.simulator.cleanupJob();
        expect(cleanup.ok, output(cleanup)).toBe(true);
        expect(cleanup.stdout).toContain(`Cleaned up 1 pod(s) and 1 secret(s) of runner ${runner.pod.name}`);
        for (const call of [prepare, step, cleanup]) {
          expect(call.stdout, output(call)).not.toContain('::warning::');
          // The runner masks what follows `::add-mask::`; nowhere else may the password appear.
          const unmasked = (call.stdout + call.stderr).split('\n').filter((line) => !line.startsWith('::add-mask::'));
          expect(unmasked.join('\n')).not.toContain(CREDENTIALS.password);
        }
        expect(names(await labelledObjects(suite, runner.pod.name))).toEqual({ pods: [], secrets: [], claims: [] });
        await expectVictimUntouched();
      } finally {
        await runner.dispose();
      }
    },
  );

  it('a prepare_job whose pod cannot start deletes its registry Secret itself', async () => {
    const template = join(dir, 'never-pull.yaml');
    await writeFile(template, 'spec:\n  containers:\n    - name: $job\n      imagePullPolicy: Never\n');
    const runner = await startRunner(suite, 'copy', { runnerEnv: { ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE: template } });
    try {
      const prepare = await runner.simulator.prepareJob({ image: 'zrh.local/no-such-image:1', credentials: CREDENTIALS });
      expect(prepare.exitCode, output(prepare)).toBe(1);
      expect(prepare.stdout).toMatch(/::error::.*ErrImageNeverPull/);
      expect(await secretsOf(runner)).toEqual([]);

      runner.simulator.setState(null);
      const cleanup = await runner.simulator.cleanupJob();
      expect(cleanup.ok, output(cleanup)).toBe(true);
      expect(cleanup.stdout).toContain(
        `No job state (prepare_job failed or did not finish). Cleaning up by label only: the pods labelled runner-pod=${runner.pod.name}`,
      );
      expect(names(await labelledObjects(suite, runner.pod.name))).toEqual({ pods: [], secrets: [], claims: [] });
    } finally {
      await runner.dispose();
    }
  });

  it.each([
    ['no state', null],
    ['a forged state naming another Secret', 'forged'],
  ] as const)("cleanup_job with %s deletes the job's registry Secret by the hook's own journal, and never the Secret a state names", async (_what, kind) => {
    const runner = await startRunner(suite, 'copy');
    try {
      const prepare = await runner.simulator.prepareJob({ image: IMAGES.debian, credentials: CREDENTIALS });
      expect(prepare.ok, output(prepare)).toBe(true);
      const [secret] = await secretsOf(runner);
      expect(secret).toBeDefined();
      const owners = (await suite.core.readNamespacedSecret({ name: secret ?? '', namespace: suite.namespace })).metadata?.ownerReferences;
      expect(owners?.map((o) => [o.kind, o.name, o.uid])).toEqual([['Pod', runner.pod.name, runner.pod.uid]]);

      const state = runner.simulator.state as Record<string, unknown>;
      runner.simulator.setState(kind === null ? null : { ...state, secrets: [VICTIM_SECRET] });
      const cleanup = await runner.simulator.cleanupJob();
      expect(cleanup.ok, output(cleanup)).toBe(true);
      if (kind === 'forged') expect(cleanup.stdout).toContain('::warning::The job state the runner passed back was not written by this hook for this job');
      expect(cleanup.stdout).toContain(`Cleaning up by label only: the pods labelled runner-pod=${runner.pod.name} in namespace ${suite.namespace}.`);
      expect(cleanup.stdout).toContain(
        `Secrets are deleted by the names in the hook's own journal only (the hook may not read Secrets); any other Secret of the job is owned by runner pod ${runner.pod.name}, ` +
          `so Kubernetes' garbage collector deletes it with the pod, and ARC deletes the Secrets labelled runner-pod=${runner.pod.name} when it removes the runner.`,
      );
      expect(cleanup.stdout).toContain(`Cleaned up 1 pod(s) and 1 secret(s) of runner ${runner.pod.name}`);
      expect(cleanup.stdout).not.toMatch(/Could not (list|delete)|journal names/);
      expect(names(await labelledObjects(suite, runner.pod.name))).toEqual({ pods: [], secrets: [], claims: [] });
      await expectVictimUntouched();
    } finally {
      await runner.dispose();
    }
  });
});
