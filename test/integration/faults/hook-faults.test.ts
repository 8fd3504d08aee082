/**
 * Issue 11's fault matrix for the hook: a whole job (prepare_job with registry credentials, a
 * script step, a container step that reads the script step's file, cleanup_job) through the fault
 * proxy, in volume mode and in copy mode. Once without faults to learn the requests each command
 * makes; then, for each command and request type, once per fault, active only while that command
 * runs: a 429 burst with Retry-After, a 503 burst, and a reset before the response, once before
 * the request reaches the API server and once after the API server did it (the answer lost). In
 * copy mode, where a step's copies are execs of their own, each exec of a command is a row of its
 * own. Every job must complete with the steps' exit codes and files, or fail with a clear message;
 * no pod or Secret may be created twice and nothing may be left labelled for the runner. The
 * tables go to the output and to docs/faults.md.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startClusterFaultProxy } from '../../fault-proxy/cluster.js';
import { proxyKubeConfig } from '../../fault-proxy/kubeconfig.js';
import type { FaultProxy } from '../../fault-proxy/proxy.js';
import type { RecordedRequest } from '../../fault-proxy/request-log.js';
import type { StartedRunner } from '../../simulator/start.js';
import { createHookSuite, startRunner, type HookSuite } from '../hook/helpers.js';
import { judge, runFaultJob, STEP_EXIT_CODE, type Command } from './fault-job.js';
import { faultTable, type MatrixCell, type RequestTypeRow } from './fault-table.js';

const DOC = fileURLToPath(new URL('../../../docs/faults.md', import.meta.url));

/** The faults of the matrix, each as a rule for one request type (`after`: leave that many of the type alone). */
const FAULTS = [
  { label: '429 ×3, Retry-After: 1', rule: (match: string) => `429 retry-after=1 x3 ${match}` },
  { label: '503 ×3', rule: (match: string) => `503 x3 ${match}` },
  { label: 'reset ×1', rule: (match: string) => `reset x1 ${match}` },
  { label: 'reset after commit ×1', rule: (match: string) => `reset-after-commit x1 ${match}` },
] as const;

const COMMANDS: readonly Command[] = ['prepare_job', 'run_script_step', 'run_container_step', 'cleanup_job'];
type Mode = 'volume' | 'copy';

/** One row of the matrix: a request type of one command (in copy mode, one exec of it). */
interface Target extends RequestTypeRow {
  readonly command: Command;
  /** The proxy's match: the type, and for the n-th exec how many to leave alone. */
  readonly match: string;
}

/**
 * The rows of a mode, from the requests of the job without faults. Volume mode: every request
 * type of every command. Copy mode: what differs from volume mode, the commands that copy (the
 * steps' requests, and prepare_job's execs), with each exec a row.
 */
function targets(mode: Mode, requests: ReadonlyMap<Command, readonly RecordedRequest[]>): Target[] {
  const rows: Target[] = [];
  for (const command of COMMANDS) {
    const mine = requests.get(command) ?? [];
    const types = [...new Set(mine.map((r) => r.type))];
    for (const type of types) {
      const n = mine.filter((r) => r.type === type).length;
      const on = `on type=${JSON.stringify(type)}`;
      if (mode === 'copy' && type === 'exec pods/exec' && n > 1) {
        for (let i = 0; i < n; i++) rows.push({ type: `${type} #${i + 1}`, commands: [command], command, match: `after=${i} ${on}` });
      } else if (mode === 'volume' || command === 'run_script_step' || command === 'run_container_step' || type === 'exec pods/exec') {
        rows.push({ type, commands: [command], command, match: on });
      }
    }
  }
  return rows;
}

/** The matrix of one workspace mode; its table is kept for the document. */
function matrix(mode: Mode, tables: Map<Mode, string>): void {
  describe(`a ${mode}-mode job through an API server that throttles, fails over and resets`, () => {
    let suite: HookSuite;
    let proxy: FaultProxy;
    let runner: StartedRunner;
    let rows: Target[] = [];
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
      suite = await createHookSuite(`hook-faults-${mode}`);
      proxy = await startClusterFaultProxy();
      runner = await startRunner(suite, mode, {
        hookKubeConfig: proxyKubeConfig(suite.hookKubeConfig, proxy.url),
        runnerEnv: { ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS: '120' },
      });
    });
    afterAll(async () => {
      if (rows.length && cells.length === rows.length * FAULTS.length) {
        const table = faultTable(
          rows,
          FAULTS.map((f) => f.label),
          cells,
        );
        console.log(`\nFaults injected × request types, ${mode} mode (${jobs - 1} jobs with a fault, 1 without):\n\n${table}\n`);
        tables.set(mode, table);
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
      const job = await runFaultJob(suite, runner, proxy, `baseline`, { containerStep: true, mode });
      jobs++;
      expect(judge(job)).toEqual({ verdict: 'completed', detail: '' });
      expect(job.calls.find((c) => c.command === 'run_script_step')?.exitCode).toBe(STEP_EXIT_CODE);
      // The job's pod and pull Secret, the step pod and its env Secret.
      expect(Object.fromEntries(job.creates)).toEqual({ pods: 2, secrets: 2 });
      rows = targets(mode, job.requests);
      const types = (command: Command) => rows.filter((r) => r.command === command).map((r) => r.type.replace(/ #\d+$/, ''));
      // What a job cannot do without: its pods and Secrets, the steps, and cleaning up.
      if (mode === 'volume') expect(types('prepare_job')).toEqual(expect.arrayContaining(['get pods', 'create pods', 'create secrets']));
      expect(types('run_script_step')).toContain('exec pods/exec');
      expect(types('run_container_step')).toEqual(
        expect.arrayContaining(['create secrets', 'create pods', 'delete pods', 'delete secrets', ...(mode === 'copy' ? ['exec pods/exec'] : [])]),
      );
      if (mode === 'volume') expect(types('cleanup_job')).toEqual(expect.arrayContaining(['delete pods', 'delete secrets']));
      console.log(`Rows of the ${mode}-mode matrix: ${rows.map((r) => `${r.type} (${r.command})`).join('; ')}`);
    });

    it.each(FAULTS)(
      '$label on each request type of each command: every job completes or fails clearly, and nothing leaks',
      async (fault) => {
        expect(rows.length, 'the request types come from the job without faults').toBeGreaterThan(0);
        const mine: MatrixCell[] = [];
        for (const row of rows) {
          const job = await runFaultJob(suite, runner, proxy, `${jobs}`, {
            containerStep: true,
            mode,
            fault: { command: row.command, rules: fault.rule(row.match) },
          });
          jobs++;
          const { verdict, detail } = judge(job);
          const cell = { fault: fault.label, type: row.type, command: row.command, verdict, detail: normalize(detail), hits: job.hits };
          mine.push(cell);
          cells.push(cell);
          if (verdict === 'leaked') await sweep();
        }
        const bad = mine
          .filter((c) => c.verdict !== 'completed' && c.verdict !== 'failed clearly')
          .map((c) => `${c.type} (${c.command}): ${c.verdict}: ${c.detail}`);
        expect(bad).toEqual([]);
        // A matrix whose faults hit nothing proves nothing.
        expect(mine.filter((c) => c.hits > 0).length).toBeGreaterThan(mine.length / 2);
      },
      40 * 60_000,
    );

    if (mode === 'volume') {
      it(
        'deletes refused (503) for longer than the retry policy waits: cleanup_job names each object it could not delete, claims no clean-up, and what stays goes with the runner pod',
        async () => {
          const job = await runFaultJob(suite, runner, proxy, `${jobs}-outage`, {
            mode,
            fault: { command: 'cleanup_job', rules: '503 on delete pods\n503 on delete secrets' },
          });
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
        },
        10 * 60_000,
      );
    }
  });
}

const tables = new Map<Mode, string>();
matrix('volume', tables);
matrix('copy', tables);

afterAll(async () => {
  // The document is rewritten only when both matrices ran to the end (not for a filtered run).
  const volume = tables.get('volume');
  const copy = tables.get('copy');
  if (volume && copy) await writeFile(DOC, document(volume, copy));
  else if (volume || copy)
    console.log(
      `${DOC} is left as it is: ${await readFile(DOC, 'utf8').then(
        () => 'only one matrix ran',
        () => 'it does not exist',
      )}`,
    );
});

function document(volume: string, copy: string): string {
  return `# Faults: one job through an API server that throttles, fails over and resets

Issue 11 asks that a throttled or flaky API server loses no job and leaks nothing. A job with a cache
and the \`zfs-clone\` CLI have their own tables: [faults-cache.md](faults-cache.md). These tables are
written by \`test/integration/faults/hook-faults.test.ts\`
(\`ZRH_CLUSTER_EXTERNAL=1 pnpm exec vitest run --project integration test/integration/faults/hook-faults.test.ts\`).

Each cell is one job on the local test cluster (real API server, real node): prepare_job with registry
credentials (so a pull Secret), a script step that writes a file into the workspace and exits
${STEP_EXIT_CODE}, a container step (\`uses: docker://busybox\`, its own pod and env Secret) that reads that file
and reports it as a step output, and cleanup_job (also after a failed prepare_job, as the runner does).
The hook talks to the API server through the fault proxy (\`test/fault-proxy\`). The fault of the column
is active only while the command of the row runs, and hits the first requests of the row's type:

- **429 ×3, Retry-After: 1**: three \`429 TooManyRequests\` answers with \`Retry-After: 1\`, not forwarded;
- **503 ×3**: three \`503 ServiceUnavailable\` answers, not forwarded;
- **reset ×1**: the hook's connection is reset once the request is read, before it reaches the API server;
- **reset after commit ×1**: the request is forwarded and done by the API server, then the hook's
  connection is reset before it reads the answer.

The rows are the requests the same job makes without faults (\`Made by\`: the command). Verdicts:
**completed** — every command succeeded, the script step's exit code was ${STEP_EXIT_CODE}, its file is in the
workspace (volume mode: read by the runner) and the container step read it (both modes: its output);
**failed clearly** — a command failed with an \`::error::\` line that says what and why (an HTTP status, a
connection failure, a lost stream, a deadline); **failed unclearly** — it failed without one, hung, or its
advice asks for a right the hook's Role leaves out on purpose (reading Secrets, ADR 0002); **leaked** — a pod
or Secret was created twice, or something labelled for the runner pod was left after cleanup_job.
*(not hit)*: the command made no request of that type that time.

## Volume mode

Every request type of every command.

${volume}

## Copy mode

What copy mode does differently: the steps' requests (their copies are execs of their own: each exec of
a command is a row, \`#n\` its place among the command's execs, which run partly side by side) and
prepare_job's copy of the workspace into the job pod.

${copy}
`;
}
