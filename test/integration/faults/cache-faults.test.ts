/**
 * Issue 11's fault matrix, cache part: a promoting cache job (prepare_job cloning the head of
 * cache `conan`, a script step writing a marker into $CONAN_HOME, cleanup_job snapshotting and
 * promoting it) and the bundled `zfs-clone` CLI (`status`, `list`, `gc`) through the fault proxy.
 * Once without faults to learn the request types, then per type a 429 burst with Retry-After, a
 * 503 burst, a reset before the request reaches the API server and a reset after it did it. Every
 * job must promote (the head one generation on, at a ready snapshot of its clone, whose fresh
 * clone holds the marker) or fail with a clear message; no pod, PVC or VolumeSnapshot created
 * twice, no clone without an owner or expiry, the head always at a ready snapshot. The tables go to
 * the output and to docs/faults-cache.md.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig, type V1Role } from '@kubernetes/client-node';
import type { VolumeSnapshot } from '@zfs-runner-hooks/zfs-clone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { serviceAccountKubeConfig } from '../../cluster/harness.js';
import { startClusterFaultProxy } from '../../fault-proxy/cluster.js';
import { proxyKubeConfig } from '../../fault-proxy/kubeconfig.js';
import type { FaultProxy } from '../../fault-proxy/proxy.js';
import type { ActiveFault } from '../../fault-proxy/rule-set.js';
import { requestTypes, type RecordedRequest } from '../../fault-proxy/request-log.js';
import { startRunnerSimulator, type StartedRunner } from '../../simulator/start.js';
import { createCacheWorld, OPERATOR_ROLE, SNAPSHOTS, volumeDirOf, type CacheWorld } from '../cache/cache-fixtures.js';
import { CACHE, cacheLeftovers, judgeCacheJob, markerFile, markerText, runCacheFaultJob } from './cache-fault-job.js';
import { ensureZfsCloneBundle } from '../deploy/zfs-clone-bundle.js';
import { judgeCliRun, runCli, type CliRun } from './cli-fault-run.js';
import type { Command, Verdict } from './fault-job.js';
import { faultTable, type MatrixCell, type RequestTypeRow } from './fault-table.js';

const DOC = fileURLToPath(new URL('../../../docs/faults-cache.md', import.meta.url));

/**
 * The faults of the matrix, each as rules for one request type. hook-faults.test.ts tries a 429
 * burst, a 503 burst and a reset apart; all three are answers before the API server did anything,
 * which the retry policy treats alike, so here they come one after the other on the same request
 * (a third of the jobs). A reset after commit, which the policy must tell apart, has its own column.
 */
const FAULTS = [
  {
    label: '429 (Retry-After: 1), then 503, then reset',
    rule: (type: string) =>
      [
        `429 retry-after=1 x1 on type=${JSON.stringify(type)}`,
        `503 x1 after=1 on type=${JSON.stringify(type)}`,
        `reset x1 after=2 on type=${JSON.stringify(type)}`,
      ].join('\n'),
  },
  { label: 'reset after commit ×1', rule: (type: string) => `reset-after-commit x1 on type=${JSON.stringify(type)}` },
] as const;

/** Request types of the job pod and its Secrets alone: the job without a cache covers them (faults.md). */
const COVERED_BY_HOOK_FAULTS = new Set([
  'get pods',
  'create pods',
  'watch pods',
  'get pods/log (follow)',
  'list pods',
  'delete pods',
  'create secrets',
  'delete secrets',
]);

const HOOK_COMMANDS: readonly Command[] = ['prepare_job', 'run_script_step', 'cleanup_job'];
type CliCommand = 'status' | 'list' | 'gc';
const CLI_COMMANDS: readonly CliCommand[] = ['status', 'list', 'gc'];
const EXEC = 'exec pods/exec';
/** The row of cleanup_job's own execs: the type it matches is `exec pods/exec`. */
const CLEANUP_EXEC = 'exec pods/exec (cleanup_job)';
const matchedType = (row: string) => (row === CLEANUP_EXEC ? EXEC : row);
const RANK: Record<Verdict, number> = { completed: 0, 'failed clearly': 1, 'failed unclearly': 2, leaked: 3 };

/** Rows by request type, in order of first appearance, each with the commands that make it. */
function rowsOf(byCommand: ReadonlyMap<string, readonly RecordedRequest[]>, commands: readonly string[]): RequestTypeRow[] {
  const byType = new Map<string, string[]>();
  for (const command of commands) {
    for (const type of requestTypes(byCommand.get(command) ?? [])) byType.set(type, [...(byType.get(type) ?? []), command]);
  }
  return [...byType].map(([type, made]) => ({ type, commands: made }));
}

describe('a promoting cache job and the zfs-clone CLI through an API server that throttles, fails over and resets', () => {
  let world: CacheWorld;
  let proxy: FaultProxy;
  let runner: StartedRunner;
  let scratch: string;
  let operatorKubeconfig: string;
  let hookRows: RequestTypeRow[] = [];
  let cliRows: RequestTypeRow[] = [];
  const hookCells: MatrixCell[] = [];
  const cliCells: MatrixCell[] = [];
  /** Markers of the jobs that promoted, newest last: each fresh clone of the head holds them all. */
  const promotedMarkers: string[] = [];
  let jobs = 0;
  let gcRounds = 0;

  /** Names that change from run to run, so the tables read the same when nothing else changed. */
  const normalize = (text: string) =>
    text
      .replaceAll(world.ns.name, '<namespace>')
      .replaceAll(runner.pod.name, '<runner>')
      .replaceAll(proxy.url, '<the fault proxy>')
      .replace(/-[0-9a-f]{8}\b/g, '-<hash>')
      .replace(/\bgeneration \d+\b/g, 'generation N')
      .replace(/\b\d+(\.\d+)? s\b/g, 'N s')
      .replace(/\b\d+ ms\b/g, 'N ms');

  beforeAll(async () => {
    ensureZfsCloneBundle();
    // On csi-hostpath: the matrix reads fresh clones of the head on the host, which a zfs-like
    // clone no pod mounts does not offer; the storage rules are the other cache suites' subject.
    world = await createCacheWorld('cache-faults', CACHE, [CACHE], { storageClass: 'csi-hostpath' });
    proxy = await startClusterFaultProxy();
    scratch = await mkdtemp(join(tmpdir(), 'cache-faults-'));
    const hookKc = new KubeConfig();
    hookKc.loadFromFile(world.hookKubeconfig);
    runner = await startRunnerSimulator({
      admin: world.admin,
      hookKubeConfig: proxyKubeConfig(hookKc, proxy.url),
      namespace: world.ns.name,
      mode: 'volume',
      placement: 'real',
      volumeDir: volumeDirOf,
      runnerEnv: { ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS: '120' },
    });
    // An operator of its own (the world's operator Role has the same name): the CLI's rights.
    const role = parse(await readFile(OPERATOR_ROLE, 'utf8')) as V1Role;
    const operator = await serviceAccountKubeConfig(world.ns.name, { ...role, metadata: { ...role.metadata, name: 'faults-operator' } }, 'faults-operator');
    operatorKubeconfig = join(scratch, 'operator.kubeconfig');
    await writeFile(operatorKubeconfig, proxyKubeConfig(operator, proxy.url).exportConfig(), { mode: 0o600 });
  });
  afterAll(async () => {
    const done = (rows: RequestTypeRow[], cells: MatrixCell[]) => rows.length > 0 && cells.length === rows.length * FAULTS.length;
    if (done(hookRows, hookCells) && done(cliRows, cliCells)) {
      const labels = FAULTS.map((f) => f.label);
      const hookTable = faultTable(hookRows, labels, hookCells);
      const cliTable = faultTable(cliRows, labels, cliCells, 'CLI cells');
      console.log(`\nCache job: faults injected × request types:\n\n${hookTable}\n\nzfs-clone CLI: faults injected × request types:\n\n${cliTable}\n`);
      await writeFile(DOC, document(hookTable, cliTable));
    }
    await runner?.dispose();
    await proxy?.close();
    await world?.dispose();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  /** Removes what a leaking job left (pods, Secrets, clones nothing ends), so the next job starts from nothing. */
  async function sweep(): Promise<void> {
    const namespace = world.ns.name;
    const labelSelector = `runner-pod=${runner.pod.name}`;
    await world.core.deleteCollectionNamespacedPod({ namespace, labelSelector, gracePeriodSeconds: 0 });
    await world.core.deleteCollectionNamespacedSecret({ namespace, labelSelector });
    for (const left of await cacheLeftovers(world, runner.pod.name)) {
      const [kind, name = ''] = left.split(' ');
      if (kind === 'clone') await world.core.deleteNamespacedPersistentVolumeClaim({ namespace, name }).catch(() => undefined);
    }
  }

  /** The files of a fresh clone of the head's snapshot (a PVC from it, read on the host, deleted). */
  async function freshCloneHolds(markers: readonly string[]): Promise<string[]> {
    const head = await world.head(CACHE);
    const snapshot = (await world.custom.getNamespacedCustomObject({ ...SNAPSHOTS, namespace: world.ns.name, name: head.snapshot })) as VolumeSnapshot;
    const name = `fresh-${head.generation}`;
    await world.core.createNamespacedPersistentVolumeClaim({
      namespace: world.ns.name,
      body: {
        metadata: { name },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'csi-hostpath',
          dataSource: { apiGroup: SNAPSHOTS.group, kind: 'VolumeSnapshot', name: head.snapshot },
          resources: { requests: { storage: snapshot.status?.restoreSize ?? '10Mi' } },
        },
      },
    });
    try {
      const dir = await world.volumeDir(name);
      const missing: string[] = [];
      for (const tag of markers) {
        const text = await readFile(join(dir, markerFile(tag)), 'utf8').catch(() => undefined);
        if (text !== markerText(tag)) missing.push(tag);
      }
      return missing;
    } finally {
      await world.core.deleteNamespacedPersistentVolumeClaim({ name, namespace: world.ns.name });
    }
  }

  it(
    'without faults, the job promotes its clone and the proxy names the request types of each command',
    async () => {
      const job = await runCacheFaultJob(world, runner, proxy, 'baseline');
      jobs++;
      const judged = judgeCacheJob(job);
      expect(judged, job.calls.map((c) => `${c.command}: ${c.stdout}\n${c.stderr}`).join('\n')).toMatchObject({ verdict: 'completed', detail: '' });
      promotedMarkers.push(job.tag);
      expect(await freshCloneHolds(promotedMarkers)).toEqual([]);
      expect(Object.fromEntries([...job.creates].filter(([r]) => r !== 'events'))).toEqual({ pods: 1, persistentvolumeclaims: 1, volumesnapshots: 1 });
      hookRows = rowsOf(job.requests, HOOK_COMMANDS).filter((r) => !COVERED_BY_HOOK_FAULTS.has(r.type));
      // A reset of the step's exec fails the step, and then cleanup_job does not flush: its own
      // execs (stopping the job's processes, the flush) get a row of their own.
      const exec = hookRows.find((r) => r.type === EXEC && r.commands.includes('cleanup_job'));
      if (exec) hookRows.splice(hookRows.indexOf(exec) + 1, 0, { type: CLEANUP_EXEC, commands: ['cleanup_job'] });
      // What a promoting job cannot do without: its clone, the snapshot back and the head's
      // compare-and-swap. (A watch is opened only for a clone or snapshot not yet bound or ready
      // at its first read, which depends on the machine's pace.)
      expect(hookRows.map((r) => r.type)).toEqual(
        expect.arrayContaining(['get configmaps', 'create persistentvolumeclaims', 'create volumesnapshots', 'update configmaps', 'patch volumesnapshots']),
      );
      console.log(`Request types of one cache job: ${hookRows.map((r) => `${r.type} (${r.commands.join(', ')})`).join('; ')}`);
    },
    10 * 60_000,
  );

  it.each(FAULTS)(
    '$label on each request type of a cache job: every job promotes or fails clearly, and nothing leaks',
    async (fault) => {
      expect(hookRows.length, 'the request types come from the job without faults').toBeGreaterThan(0);
      const mine: MatrixCell[] = [];
      for (const { type, commands } of hookRows) {
        // Armed anew as each command that makes the type starts: each meets the fault.
        const rules: ActiveFault[] = [];
        const arm = (command: Command) => {
          proxy.clearFaults();
          if (commands.includes(command)) rules.push(...proxy.addFaults(fault.rule(matchedType(type))));
        };
        const job = await runCacheFaultJob(world, runner, proxy, `${jobs}`, arm);
        jobs++;
        proxy.clearFaults();
        const { verdict, detail, promoted } = judgeCacheJob(job);
        if (promoted) promotedMarkers.push(job.tag);
        const cell = { fault: fault.label, type, verdict, detail: normalize(detail), hits: rules.reduce((n, r) => n + r.hits, 0) };
        mine.push(cell);
        hookCells.push(cell);
        if (verdict === 'leaked') await sweep();
      }
      // Once per column: a fresh clone of the head holds the marker of every job that promoted.
      const missing = await freshCloneHolds(promotedMarkers);
      expect(missing, 'markers of promoted jobs missing from a fresh clone of the head').toEqual([]);
      const bad = mine.filter((c) => c.verdict !== 'completed' && c.verdict !== 'failed clearly').map((c) => `${c.type}: ${c.verdict}: ${c.detail}`);
      expect(bad).toEqual([]);
    },
    40 * 60_000,
  );

  /** A kept clone of the head and a snapshot of it, both expired: what `gc` must delete. */
  async function collectable(): Promise<{ pvc: string; snapshot: string }> {
    const n = ++gcRounds;
    const head = await world.head(CACHE);
    const past = new Date(Date.now() - 60_000).toISOString();
    const labels = { 'app.kubernetes.io/managed-by': 'zfs-runner-hooks', 'zrh.dev/cache': CACHE };
    const pvc = `gc-${n}`;
    const snapshot = `gc-${n}-snap`;
    await world.core.createNamespacedPersistentVolumeClaim({
      namespace: world.ns.name,
      body: {
        metadata: { name: pvc, labels: { ...labels, 'zrh.dev/role': 'clone', 'zrh.dev/kept': 'true' }, annotations: { 'zrh.dev/expires-at': past } },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'csi-hostpath',
          dataSource: { apiGroup: SNAPSHOTS.group, kind: 'VolumeSnapshot', name: head.snapshot },
          resources: { requests: { storage: '10Mi' } },
        },
      },
    });
    await world.custom.createNamespacedCustomObject({
      ...SNAPSHOTS,
      namespace: world.ns.name,
      body: {
        apiVersion: `${SNAPSHOTS.group}/${SNAPSHOTS.version}`,
        kind: 'VolumeSnapshot',
        metadata: { name: snapshot, labels: { ...labels, 'zrh.dev/role': 'candidate' }, annotations: { 'zrh.dev/expires-at': past } },
        spec: { source: { persistentVolumeClaimName: pvc } },
      },
    });
    return { pvc, snapshot };
  }

  /** Whether an object is gone or being deleted. */
  async function goneOrGoing(read: () => Promise<unknown>): Promise<boolean> {
    const object = (await read().catch(() => undefined)) as { metadata?: { deletionTimestamp?: unknown } } | undefined;
    return !object || Boolean(object.metadata?.deletionTimestamp);
  }

  /** Runs one CLI command through the proxy and judges it: what it printed, and the head after it. */
  async function cliCell(command: CliCommand): Promise<{ run: CliRun; verdict: Verdict; detail: string }> {
    const head = await world.head(CACHE);
    const target = command === 'gc' ? await collectable() : undefined;
    const argv =
      command === 'status' ? ['status', CACHE, '-o', 'json'] : command === 'list' ? ['list', '-o', 'json'] : ['gc', CACHE, '--grace', '0', '-o', 'json'];
    const run = await runCli(proxy, operatorKubeconfig, world.ns.name, argv);
    let answered: string | undefined;
    if (run.code === 0) {
      try {
        const out = JSON.parse(run.stdout) as { generation?: number; head?: string; caches?: { cache: string; generation: number; head: string }[] };
        if (command === 'status' && (out.generation !== head.generation || out.head !== head.snapshot))
          answered = `it printed generation ${String(out.generation)} (${String(out.head)}), the head is ${head.generation}`;
        const listed = out.caches?.find((c) => c.cache === CACHE);
        if (command === 'list' && (listed?.generation !== head.generation || listed.head !== head.snapshot))
          answered = `it listed ${JSON.stringify(listed)}, the head is ${head.generation}`;
      } catch {
        answered = `its output is no JSON: ${run.stdout.slice(0, 200)}`;
      }
      if (target) {
        const ns = world.ns.name;
        const left = [
          ...((await goneOrGoing(() => world.core.readNamespacedPersistentVolumeClaim({ name: target.pvc, namespace: ns }))) ? [] : [`volume/${target.pvc}`]),
          ...((await goneOrGoing(() => world.custom.getNamespacedCustomObject({ ...SNAPSHOTS, namespace: ns, name: target.snapshot })))
            ? []
            : [`snapshot/${target.snapshot}`]),
        ];
        if (left.length) answered = `${left.join(' and ')} expired and still there`;
      }
    }
    const after = await world.head(CACHE).catch(() => undefined);
    const snapshot = after
      ? ((await world.custom.getNamespacedCustomObject({ ...SNAPSHOTS, namespace: world.ns.name, name: after.snapshot }).catch(() => undefined)) as
          | VolumeSnapshot
          | undefined)
      : undefined;
    const leak =
      !after || after.snapshot !== head.snapshot
        ? `the head moved from ${head.snapshot} to ${after?.snapshot ?? 'nothing'}`
        : snapshot?.status?.readyToUse !== true || snapshot.metadata?.deletionTimestamp
          ? `the head's snapshot ${head.snapshot} is no longer ready`
          : undefined;
    return { run, ...judgeCliRun(run, answered, leak) };
  }

  it(
    'without faults, zfs-clone status, list and gc answer right through the proxy, which names their request types',
    async () => {
      const byCommand = new Map<string, RecordedRequest[]>();
      for (const command of CLI_COMMANDS) {
        const { run, verdict, detail } = await cliCell(command);
        expect({ command, verdict, detail }, run.stderr).toEqual({ command, verdict: 'completed', detail: '' });
        byCommand.set(command, [...run.requests]);
      }
      cliRows = rowsOf(byCommand, CLI_COMMANDS);
      expect(cliRows.map((r) => r.type)).toEqual(
        expect.arrayContaining(['list persistentvolumeclaims', 'list volumesnapshots', 'delete persistentvolumeclaims', 'delete volumesnapshots']),
      );
      console.log(`Request types of zfs-clone status, list, gc: ${cliRows.map((r) => `${r.type} (${r.commands.join(', ')})`).join('; ')}`);
    },
    5 * 60_000,
  );

  it.each(FAULTS)(
    '$label on each request type of zfs-clone status, list and gc: each answers right or fails clearly, and the head stays',
    async (fault) => {
      expect(cliRows.length, 'the request types come from the runs without faults').toBeGreaterThan(0);
      const mine: MatrixCell[] = [];
      for (const { type, commands } of cliRows) {
        // Every command that makes the type, each under a fresh rule; the cell is the worst of them.
        let worst = { verdict: 'completed' as Verdict, detail: '' };
        let hits = 0;
        for (const command of commands as readonly CliCommand[]) {
          proxy.clearFaults();
          const [rule] = proxy.addFaults(fault.rule(type));
          const { verdict, detail } = await cliCell(command);
          proxy.clearFaults();
          hits += rule?.hits ?? 0;
          if (RANK[verdict] > RANK[worst.verdict] || (verdict !== 'completed' && worst.detail === '')) worst = { verdict, detail: `${command}: ${detail}` };
        }
        const cell = { fault: fault.label, type, verdict: worst.verdict, detail: normalize(worst.detail), hits };
        mine.push(cell);
        cliCells.push(cell);
      }
      const bad = mine.filter((c) => c.verdict !== 'completed' && c.verdict !== 'failed clearly').map((c) => `${c.type}: ${c.verdict}: ${c.detail}`);
      expect(bad).toEqual([]);
    },
    20 * 60_000,
  );
});

function document(hookTable: string, cliTable: string): string {
  return `# Faults: a cache job and the zfs-clone CLI through an API server that throttles, fails over and resets

The cache part of issue 11's fault matrix (the job without a cache: [faults.md](faults.md)). These
tables are written by \`test/integration/faults/cache-faults.test.ts\`
(\`ZRH_CLUSTER_EXTERNAL=1 pnpm exec vitest run --project integration test/integration/faults/cache-faults.test.ts\`),
with two faults, each hitting the first requests of one type: **429 (Retry-After: 1), then 503,
then reset** — three answers in a row before the API server did anything (answered by the proxy, not
forwarded; faults.md tries each of them apart) — and **reset after commit ×1** (the API server did
it, the answer is lost). The requests of the job pod and its Secrets alone (\`${[...COVERED_BY_HOOK_FAULTS].join('`, `')}\`)
are left to faults.md.

## A promoting cache job

Each cell is one job in volume mode on the local test cluster (real API server, real node), all on
one runner pod and one cache: prepare_job with \`ZFS_CLONE_SOURCE=${CACHE}\` and \`ZFS_CLONE_PROMOTE=true\` (a
clone PVC of the head's VolumeSnapshot mounted at /CONAN_HOME), a script step that writes a marker
file into \`$CONAN_HOME\`, and cleanup_job (flush, VolumeSnapshot of the clone, compare-and-swap of the
head ConfigMap; also after a failed prepare_job, as the runner does). The request types are those a
job without faults makes (\`Made by\`: the commands that make them); the fault is armed anew as each of
those commands starts, so it hits the first requests of that type of each. A reset of the step's exec
fails the step, after which cleanup_job takes no snapshot and runs no exec: \`${CLEANUP_EXEC}\` arms the
fault for cleanup_job's execs alone (stopping the job's processes, the flush).

Verdicts: **completed** — every command succeeded and the head moved one generation on, to a ready
VolumeSnapshot of this job's clone (once per column, a fresh clone of the head holds the marker of
every job that promoted); **failed clearly** — a command failed with an \`::error::\` line, or cleanup_job
did not promote and a \`::warning::\` says what and why (an HTTP status, a connection failure, a
deadline); **failed unclearly** — it failed or did not promote without one, or hung; **leaked** — a pod,
PVC or VolumeSnapshot was created twice, a pod or Secret of the runner pod, a clone that neither a
VolumeSnapshot owns nor an expiry ends, or a snapshot taken back that is neither a generation nor
expiring was left after cleanup_job, or the head does not point at a ready snapshot. *(not hit)*: the
job made no request of that type that time.

${hookTable}

## zfs-clone status, list and gc

Each cell runs the bundled CLI (\`packages/zfs-clone/dist/zfs-clone.cjs\`) as its own process with an
operator's kubeconfig (\`test/integration/zfs-clone/fixtures/zfs-clone-role.yaml\`) whose server is the
proxy: every command of \`Made by\` once, the fault armed again for each, the cell showing the worst.
\`status ${CACHE} -o json\` and \`list -o json\` must print the head as it is; \`gc ${CACHE} --grace 0 -o json\`
runs after an expired kept clone of the head and an expired snapshot of it were created and must
delete both. **completed**: exit 0 and the right answer; **failed clearly**: exit 1 and an \`error:\` line
that says what and why; **failed unclearly**: anything else, or a hang; **leaked**: the head moved or
its snapshot is no longer ready.

${cliTable}
`;
}
