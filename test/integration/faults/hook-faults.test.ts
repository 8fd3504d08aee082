/**
 * Issue 11's fault matrix, first part: a whole volume-mode job (prepare_job with registry
 * credentials, a script step, cleanup_job) through the fault proxy, once without faults to learn
 * the request types each command makes, then, for each of them, once per fault: a 429 burst with
 * Retry-After, a 503 burst, and a reset before the response, once before the request reaches the
 * API server and once after the API server did it (the answer lost). Every job must complete with the step's exit code and file, or
 * fail with a clear message; no pod or Secret may be created twice and nothing may be left
 * labelled for the runner. The table goes to the output and to docs/faults.md.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startClusterFaultProxy } from '../../fault-proxy/cluster.js';
import { proxyKubeConfig } from '../../fault-proxy/kubeconfig.js';
import type { FaultProxy } from '../../fault-proxy/proxy.js';
import { requestTypes } from '../../fault-proxy/request-log.js';
import type { StartedRunner } from '../../simulator/start.js';
import { createHookSuite, startRunner, type HookSuite } from '../hook/helpers.js';
import { judge, runFaultJob, STEP_EXIT_CODE, type Command } from './fault-job.js';
import { faultTable, type MatrixCell, type RequestTypeRow } from './fault-table.js';

const DOC = fileURLToPath(new URL('../../../docs/faults.md', import.meta.url));

/** The faults of the matrix, each as a rule for one request type. */
const FAULTS = [
  { label: '429 ×3, Retry-After: 1', rule: (type: string) => `429 retry-after=1 x3 on type=${JSON.stringify(type)}` },
  { label: '503 ×3', rule: (type: string) => `503 x3 on type=${JSON.stringify(type)}` },
  { label: 'reset ×1', rule: (type: string) => `reset x1 on type=${JSON.stringify(type)}` },
  { label: 'reset after commit ×1', rule: (type: string) => `reset-after-commit x1 on type=${JSON.stringify(type)}` },
] as const;

const COMMANDS: readonly Command[] = ['prepare_job', 'run_script_step', 'cleanup_job'];

describe('a volume-mode job through an API server that throttles, fails over and resets', () => {
  let suite: HookSuite;
  let proxy: FaultProxy;
  let runner: StartedRunner;
  let rows: RequestTypeRow[] = [];
  const cells: MatrixCell[] = [];
  let jobs = 0;

  /** Names that change from run to run, so the table reads the same when nothing else changed. */
  const normalize = (text: string) =>
    text
      .replaceAll(suite.namespace, '<namespace>')
      .replaceAll(runner.pod.name, '<runner>')
      .replaceAll(proxy.url, '<the fault proxy>')
      .replace(/-(job|reg|step|env)-[0-9a-f]{8}\b/g, '-$1-<hash>')
      .replace(/\b\d+(\.\d+)? s\b/g, 'N s')
      .replace(/\b\d+ ms\b/g, 'N ms');

  beforeAll(async () => {
    suite = await createHookSuite('hook-faults');
    proxy = await startClusterFaultProxy();
    runner = await startRunner(suite, 'volume', {
      hookKubeConfig: proxyKubeConfig(suite.hookKubeConfig, proxy.url),
      runnerEnv: { ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS: '120' },
    });
  });
  afterAll(async () => {
    if (rows.length && cells.length === rows.length * FAULTS.length) {
      const table = faultTable(rows, FAULTS.map((f) => f.label), cells);
      console.log(`\nFaults injected × request types (${jobs - 1} jobs with a fault, 1 without):\n\n${table}\n`);
      await writeFile(DOC, document(table));
    }
    await runner?.dispose();
    await proxy?.close();
    await suite?.ns.delete();
  });

  /** Removes what a leaking job left, so the next job starts from nothing. */
  async function sweep(): Promise<void> {
    const labelSelector = `runner-pod=${runner.pod.name}`;
    await suite.core.deleteCollectionNamespacedPod({ namespace: suite.namespace, labelSelector, gracePeriodSeconds: 0 });
    await suite.core.deleteCollectionNamespacedSecret({ namespace: suite.namespace, labelSelector });
  }

  it('without faults, the job completes and the proxy names the request types of each command', async () => {
    const job = await runFaultJob(suite, runner, proxy, `baseline`);
    jobs++;
    expect(judge(job)).toEqual({ verdict: 'completed', detail: '' });
    expect(job.calls.find((c) => c.command === 'run_script_step')?.exitCode).toBe(STEP_EXIT_CODE);
    expect(Object.fromEntries(job.creates)).toEqual({ pods: 1, secrets: 1 });
    const byType = new Map<string, Command[]>();
    for (const command of COMMANDS) {
      for (const type of requestTypes(job.requests.get(command) ?? [])) byType.set(type, [...(byType.get(type) ?? []), command]);
    }
    rows = [...byType].map(([type, commands]) => ({ type, commands }));
    // What a job cannot do without: its pod, its pull Secret, the step's exec, and cleaning up both.
    expect(rows.map((r) => r.type)).toEqual(expect.arrayContaining(['get pods', 'create pods', 'create secrets', 'exec pods/exec', 'delete pods', 'delete secrets']));
    console.log(`Request types of one job: ${rows.map((r) => `${r.type} (${r.commands.join(', ')})`).join('; ')}`);
  });

  it.each(FAULTS)('$label on each request type: every job completes or fails clearly, and nothing leaks', async (fault) => {
    expect(rows.length, 'the request types come from the job without faults').toBeGreaterThan(0);
    const mine: MatrixCell[] = [];
    for (const { type } of rows) {
      proxy.clearFaults();
      const [rule] = proxy.addFaults(fault.rule(type));
      const job = await runFaultJob(suite, runner, proxy, `${jobs}`);
      jobs++;
      proxy.clearFaults();
      const { verdict, detail } = judge(job);
      const cell = { fault: fault.label, type, verdict, detail: normalize(detail), hits: rule?.hits ?? 0 };
      mine.push(cell);
      cells.push(cell);
      if (verdict === 'leaked') await sweep();
    }
    const bad = mine.filter((c) => c.verdict !== 'completed' && c.verdict !== 'failed clearly').map((c) => `${c.type}: ${c.verdict}: ${c.detail}`);
    expect(bad).toEqual([]);
  }, 40 * 60_000);

  it('deletes refused (503) for longer than the retry policy waits: cleanup_job names each object it could not delete, claims no clean-up, and what stays goes with the runner pod', async () => {
    proxy.addFaults('503 on delete pods\n503 on delete secrets');
    const job = await runFaultJob(suite, runner, proxy, `${jobs}-outage`).finally(() => proxy.clearFaults());
    onTestFinished(sweep);
    const cleanup = job.calls.find((c) => c.command === 'cleanup_job');
    const [pod] = job.leftovers.pods;
    const [secret] = job.leftovers.secrets;
    expect({ pods: job.leftovers.pods.length, secrets: job.leftovers.secrets.length }).toEqual({ pods: 1, secrets: 1 });
    const warnings = cleanup?.stdout.split('\n').filter((l) => l.startsWith('::warning::')) ?? [];
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^::warning::Could not delete pods "${pod ?? ''}": .*\\(HTTP 503\\); gave up after`)),
        expect.stringMatching(new RegExp(`^::warning::Could not delete secrets "${secret ?? ''}": .*\\(HTTP 503\\); gave up after`)),
      ]),
    );
    // Nothing may say the pod and the Secret were cleaned up while both are still there.
    expect.soft(cleanup?.stdout).not.toMatch(/Cleaned up [1-9]\d* pod\(s\)|and [1-9]\d* secret\(s\)/);
    // What the outage leaves is the runner pod's: the garbage collector removes it with the runner pod.
    const owners = await Promise.all([
      suite.core.readNamespacedPod({ name: pod ?? '', namespace: suite.namespace }),
      suite.core.readNamespacedSecret({ name: secret ?? '', namespace: suite.namespace }),
    ]);
    for (const object of owners) expect(object.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'Pod', uid: runner.pod.uid })]);
  }, 10 * 60_000);
});

function document(table: string): string {
  return `# Faults: one job through an API server that throttles, fails over and resets

Issue 11 asks that a throttled or flaky API server loses no job and leaks nothing. A job with a cache
and the \`zfs-clone\` CLI have their own tables: [faults-cache.md](faults-cache.md). This table is
written by \`test/integration/faults/hook-faults.test.ts\`
(\`ZRH_CLUSTER_EXTERNAL=1 pnpm exec vitest run --project integration test/integration/faults/hook-faults.test.ts\`).

Each cell is one job in volume mode on the local test cluster (real API server, real node): prepare_job
with registry credentials (so a pull Secret), a script step that writes a file into the workspace and
exits ${STEP_EXIT_CODE}, and cleanup_job (also after a failed prepare_job, as the runner does). The hook
talks to the API server through the fault proxy (\`test/fault-proxy\`), which hits the first requests of
one type with the fault of the column:

- **429 ×3, Retry-After: 1**: three \`429 TooManyRequests\` answers with \`Retry-After: 1\`, not forwarded;
- **503 ×3**: three \`503 ServiceUnavailable\` answers, not forwarded;
- **reset ×1**: the hook's connection is reset once the request is read, before it reaches the API server;
- **reset after commit ×1**: the request is forwarded and done by the API server, then the hook's
  connection is reset before it reads the answer.

The request types are those the same job makes without faults (\`Made by\`: the commands that make them).
Verdicts: **completed** — every command succeeded, the step's exit code was ${STEP_EXIT_CODE} and its file is
in the workspace; **failed clearly** — a command failed with an \`::error::\` line that says what and why
(an HTTP status, a connection failure, a lost stream, a deadline); **failed unclearly** — it failed without
one, hung, or its advice asks for a right the hook's Role leaves out on purpose (reading Secrets, ADR 0002); **leaked** — a pod or Secret was created twice, or something labelled for the runner pod was
left after cleanup_job. *(not hit)*: the job made no request of that type that time.

${table}
`;
}
