import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../cluster/harness.js';
import type { StartedRunner } from '../../simulator/start.js';
import { createHookSuite, IMAGES, labelledObjects, names, output, startRunner, type HookSuite } from './helpers.js';

describe('a runner pod that disappears without cleanup_job', () => {
  let suite: HookSuite;
  let runner: StartedRunner;

  beforeAll(async () => {
    suite = await createHookSuite('hook-gc');
    runner = await startRunner(suite, 'copy');
  });
  afterAll(async () => {
    await runner?.dispose();
    await suite?.ns.delete();
  });

  it("takes the job's pod and secrets with it (they are owned by the runner pod)", async () => {
    const prepare = await runner.simulator.prepareJob({ image: IMAGES.debian, credentials: { username: 'u', password: 'p' } });
    expect(prepare.ok, output(prepare)).toBe(true);
    const before = names(await labelledObjects(suite, runner.pod.name));
    expect(before.pods).toHaveLength(1);
    expect(before.secrets).toHaveLength(1);

    await suite.core.deleteNamespacedPod({ name: runner.pod.name, namespace: suite.namespace, gracePeriodSeconds: 0 });
    const after = await waitFor(
      `the objects of runner pod ${runner.pod.name} to be garbage-collected`,
      async () => names(await labelledObjects(suite, runner.pod.name)),
      (n) => n.pods.length + n.secrets.length === 0,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(after).toEqual({ pods: [], secrets: [], claims: [] });
  });
});
