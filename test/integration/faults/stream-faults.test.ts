/**
 * Issue 11's stream faults against a whole job in volume mode, through the fault proxy: a watch
 * reset in the middle, a 410 on the re-watch, a stalled log, a log cut off in the middle of a
 * container step, and an exec dropped while its step runs.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../cluster/harness.js';
import { startClusterFaultProxy } from '../../fault-proxy/cluster.js';
import { proxyKubeConfig } from '../../fault-proxy/kubeconfig.js';
import type { FaultProxy } from '../../fault-proxy/proxy.js';
import { formatRecord } from '../../fault-proxy/request-log.js';
import type { StartedRunner } from '../../simulator/start.js';
import { createHookSuite, IMAGES, jobPodOf, labelledObjects, names, output, startRunner, type HookSuite } from '../hook/helpers.js';
import { adminKubeClient, execText } from '../node/real-node.js';
import { errorLine, isClear, judge, runFaultJob } from './fault-job.js';

/** A container step's script that prints `line 1` … `line 20` over about two seconds. */
const COUNTING = '#!/bin/sh\nfor i in $(seq 1 20); do echo "line $i"; sleep 0.1; done\n';
const COUNTED = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);

/** The lines of `text` that are `line N`, in order. */
const countedLines = (text: string) => text.split('\n').filter((l) => /^line \d+$/.test(l));

describe('a job through an API server whose streams break (volume mode)', () => {
  let suite: HookSuite;
  let proxy: FaultProxy;
  let runner: StartedRunner;
  let admin: KubeClient;

  beforeAll(async () => {
    suite = await createHookSuite('hook-streams');
    proxy = await startClusterFaultProxy();
    admin = await adminKubeClient();
    runner = await startRunner(suite, 'volume', {
      hookKubeConfig: proxyKubeConfig(suite.hookKubeConfig, proxy.url),
      runnerEnv: { ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS: '120' },
    });
  });
  afterAll(async () => {
    admin?.close();
    await runner?.dispose();
    await proxy?.close();
    await suite?.ns.delete();
  });

  /** The requests since `mark`, one line each, for failure messages. */
  const log = (mark: number) => proxy.requests.slice(mark).map(formatRecord).join('\n');

  it('prepare_job: the job pod’s watch is reset after its first event and the re-watch answered 410; the job still completes', async () => {
    const mark = proxy.requests.length;
    const [cut, gone] = proxy.addFaults('cut-stream after-events=1 mode=reset x1 on watch pods\ngone x1 after=1 on watch pods');
    const job = await runFaultJob(suite, runner, proxy, 'rewatch').finally(() => proxy.clearFaults());
    expect(judge(job), log(mark)).toEqual({ verdict: 'completed', detail: '' });
    expect({ cut: cut?.hits, gone: gone?.hits }, log(mark)).toEqual({ cut: 1, gone: 1 });
    const prepare = job.requests.get('prepare_job') ?? [];
    const goneAt = prepare.findIndex((r) => r.fault?.startsWith('gone'));
    // After the 410 the pod is read again (a list) before anything else is watched.
    expect(prepare.slice(goneAt + 1).find((r) => r.type === 'list pods' || r.type === 'watch pods')?.type, log(mark)).toBe('list pods');
  });

  it('prepare_job: the job container’s log stalls; prepare_job asks the container with an exec instead and the job completes', async () => {
    const mark = proxy.requests.length;
    const [stall] = proxy.addFaults('stall after-bytes=0 x1 on get pods/log stream=follow');
    const job = await runFaultJob(suite, runner, proxy, 'stalled-os-line').finally(() => proxy.clearFaults());
    expect(judge(job), log(mark)).toEqual({ verdict: 'completed', detail: '' });
    expect(stall?.hits).toBe(1);
    const prepare = job.calls.find((c) => c.command === 'prepare_job');
    expect(prepare?.response, output(prepare!)).toMatchObject({ isAlpine: false });
    expect(
      (job.requests.get('prepare_job') ?? []).map((r) => r.type),
      log(mark),
    ).toContain('exec pods/exec');
  });

  describe('steps', () => {
    /** The counting script in the workspace (the work claim's folder), as the step container sees it. */
    let counting: string;

    beforeAll(async () => {
      await writeFile(join(runner.layout.workspace, 'counting.sh'), COUNTING, { mode: 0o755 });
      counting = '/github/workspace/counting.sh';
      runner.simulator.setState(null);
      const prepare = await runner.simulator.prepareJob({ image: IMAGES.debian });
      expect(prepare.ok, output(prepare)).toBe(true);
    });
    afterAll(async () => {
      const cleanup = await runner.simulator.cleanupJob();
      expect(cleanup.ok, output(cleanup)).toBe(true);
      expect(names(await labelledObjects(suite, runner.pod.name))).toEqual({ pods: [], secrets: [], claims: [] });
    });

    it('a script step whose exec is dropped while it runs fails clearly, its process is gone within 10 s, and the next step runs', async () => {
      const mark = proxy.requests.length;
      const [drop] = proxy.addFaults('drop-exec after-ms=1500 x1 on exec');
      const step = await runner.simulator.runScript('echo "step started"\nexec sleep 299\n').finally(() => proxy.clearFaults());
      expect(drop?.hits, log(mark)).toBe(1);
      expect(step.exitCode, output(step)).not.toBe(0);
      expect(isClear(errorLine(step)), output(step)).toBe(true);
      const target = { namespace: suite.namespace, pod: jobPodOf(runner.simulator.state), container: 'job' };
      // `[s]leep` so that the search does not find itself.
      const sleeping = () => execText(admin, target, ['sh', '-c', "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' ' | grep -c '[s]leep 299' || true"]);
      await waitFor('the dropped step’s process to be gone from the job container', sleeping, (r) => r.stdout.trim() === '0', { timeoutMs: 10_000 });
      const next = await runner.simulator.runScript('echo "next step"\n');
      expect(next.ok, output(next)).toBe(true);
      expect(next.stdout).toContain('next step');
    });

    it('a container step whose log is cut off in the middle is followed again: every line once, in order', async () => {
      const mark = proxy.requests.length;
      const [cut] = proxy.addFaults('cut-stream after-events=5 x1 on get pods/log stream=follow');
      const step = await runner.simulator.runContainerStep({ image: IMAGES.busybox, entryPoint: 'sh', args: [counting] }).finally(() => proxy.clearFaults());
      expect(step.ok, output(step)).toBe(true);
      expect(cut?.hits, log(mark)).toBe(1);
      expect(countedLines(step.stdout)).toEqual(COUNTED);
    });

    it('a container step whose log stalls is followed again after the idle timeout: every line once, in order', async () => {
      const mark = proxy.requests.length;
      const [stall] = proxy.addFaults('stall after-events=5 x1 on get pods/log stream=follow');
      const step = await runner.simulator.runContainerStep({ image: IMAGES.busybox, entryPoint: 'sh', args: [counting] }).finally(() => proxy.clearFaults());
      expect(step.ok, output(step)).toBe(true);
      expect(stall?.hits, log(mark)).toBe(1);
      expect(countedLines(step.stdout)).toEqual(COUNTED);
    }, 300_000);
  });
});
