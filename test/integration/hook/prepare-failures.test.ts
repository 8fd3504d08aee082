import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedRunner } from '../../simulator/start.js';
import { createHookSuite, IMAGES, labelledObjects, names, output, startRunner, type HookSuite } from './helpers.js';

describe('prepare_job failures are reported with their reason, and cleanup_job with state null removes what they left', () => {
  let suite: HookSuite;
  let dir: string;
  let neverPull: StartedRunner;
  let nowhere: StartedRunner;

  beforeAll(async () => {
    suite = await createHookSuite('hook-fail');
    dir = await mkdtemp(join(tmpdir(), 'zrh-fail-'));
    const neverPullTemplate = join(dir, 'never-pull.yaml');
    await writeFile(neverPullTemplate, 'spec:\n  containers:\n    - name: $job\n      imagePullPolicy: Never\n');
    const nowhereTemplate = join(dir, 'nowhere.yaml');
    await writeFile(nowhereTemplate, 'spec:\n  nodeSelector:\n    zrh.test/no-such-node: "true"\n');
    [neverPull, nowhere] = await Promise.all([
      startRunner(suite, 'copy', { runnerEnv: { ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE: neverPullTemplate } }),
      startRunner(suite, 'copy', { runnerEnv: { ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE: nowhereTemplate } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([neverPull?.dispose(), nowhere?.dispose()]);
    await suite?.ns.delete();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('an image the node does not have fails fast with ErrImageNeverPull and the Warning events', async () => {
    const call = await neverPull.simulator.prepareJob({ image: 'zrh.local/no-such-image:1' });
    expect(call.exitCode, output(call)).toBe(1);
    const text = call.stdout + call.stderr;
    expect(text).toMatch(/::error::.*ErrImageNeverPull/);
    expect(text).toMatch(/Warning.*(ErrImageNeverPull|not present with pull policy of Never)/);
    expect(text).not.toMatch(/timed out/i);
  });

  it('a pod no node can take fails as Unschedulable with the scheduler message', async () => {
    const call = await nowhere.simulator.prepareJob({ image: IMAGES.debian });
    expect(call.exitCode, output(call)).toBe(1);
    const text = call.stdout + call.stderr;
    expect(text).toMatch(/::error::.*cannot be scheduled: 0\/\d+ nodes are available: .*node\(s\) didn't match Pod's node affinity\/selector/);
    expect(text).toMatch(/Warning events:.*FailedScheduling/);
  });

  it('cleanup_job with state null removes the failed job pods', async () => {
    for (const runner of [neverPull, nowhere]) {
      runner.simulator.setState(null);
      const cleanup = await runner.simulator.cleanupJob();
      expect(cleanup.ok, output(cleanup)).toBe(true);
      expect(names(await labelledObjects(suite, runner.pod.name))).toEqual({ pods: [], secrets: [], claims: [] });
    }
  });
});
