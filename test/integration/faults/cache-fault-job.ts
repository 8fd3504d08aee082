/**
 * One promoting cache job through the fault proxy, as the runner runs it (prepare_job cloning
 * the cache head, a script step writing a marker into $CONAN_HOME, cleanup_job snapshotting and
 * promoting it), what it left in the cluster, and the verdict on it: completed, failed with a
 * clear message, failed without one, or leaked.
 */
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { VolumeSnapshot } from '@zfs-runner-hooks/zfs-clone';
import type { FaultProxy } from '../../fault-proxy/proxy.js';
import { committedCreates, type RecordedRequest } from '../../fault-proxy/request-log.js';
import type { HookCall } from '../../simulator/runner.js';
import type { StartedRunner } from '../../simulator/start.js';
import { jobContainer, SNAPSHOTS, type CacheWorld } from '../cache/cache-fixtures.js';
import { CALL_LIMIT_MS, errorLine, guarded, isClear, type Command, type Verdict } from './fault-job.js';

/** The workflow's cache settings: clone cache `conan`, promote it on success. */
export const CACHE = 'conan';
const PROMOTING = { ZFS_CLONE_SOURCE: CACHE, ZFS_CLONE_PROMOTE: 'true' };
/** Objects whose creation twice is a leak. */
const SINGLE_CREATES = ['pods', 'secrets', 'persistentvolumeclaims', 'volumesnapshots'];

/** The marker file a job writes, relative to the cache root. */
export const markerFile = (tag: string) => `p/marker-${tag}.txt`;
export const markerText = (tag: string) => `built by cache job ${tag}\n`;

/** What one cache job did and left. */
export interface CacheFaultJob {
  readonly tag: string;
  readonly calls: readonly HookCall[];
  /** Calls the watchdog had to kill. */
  readonly hung: readonly Command[];
  /** Each command's requests, in order. */
  readonly requests: ReadonlyMap<Command, readonly RecordedRequest[]>;
  /** Creates the API server accepted, by resource. */
  readonly creates: ReadonlyMap<string, number>;
  /** The job's clone PVC, from prepare_job's state. */
  readonly clone: string | undefined;
  readonly headBefore: { readonly generation: number; readonly snapshot: string };
  /** The head after cleanup_job; undefined when it cannot be read. */
  readonly headAfter: { readonly generation: number; readonly snapshot: string } | undefined;
  /** The head's VolumeSnapshot after cleanup_job. */
  readonly headSnapshot: VolumeSnapshot | undefined;
  /** Objects of the runner pod that should not be there after cleanup_job, each with why. */
  readonly leftovers: readonly string[];
}

const cloneOf = (state: unknown) => (state as { clone?: { pvc?: unknown } } | null)?.clone?.pvc;

/**
 * What runner pod `runnerPod` left that a finished job must not leave: pods and Secrets, clones
 * that neither a VolumeSnapshot owns nor an expiry ends, snapshots taken back without an expiry
 * that are no generation.
 */
export async function cacheLeftovers(world: CacheWorld, runnerPod: string): Promise<string[]> {
  const mine = { namespace: world.ns.name, labelSelector: `runner-pod=${runnerPod}` };
  const [pods, secrets, pvcs, snapshots] = await Promise.all([
    world.core.listNamespacedPod(mine),
    world.core.listNamespacedSecret(mine),
    world.core.listNamespacedPersistentVolumeClaim(mine),
    world.custom.listNamespacedCustomObject({ ...SNAPSHOTS, ...mine }) as Promise<{ items: VolumeSnapshot[] }>,
  ]);
  const alive = (o: { metadata?: { deletionTimestamp?: unknown } }) => !o.metadata?.deletionTimestamp;
  const expires = (o: { metadata?: { annotations?: Record<string, string> } }) => o.metadata?.annotations?.['zrh.dev/expires-at'] !== undefined;
  const left: string[] = [];
  for (const p of pods.items.filter(alive)) left.push(`pod ${p.metadata?.name ?? '?'}`);
  for (const s of secrets.items.filter(alive)) left.push(`secret ${s.metadata?.name ?? '?'}`);
  for (const c of pvcs.items.filter(alive) as V1PersistentVolumeClaim[]) {
    if (c.metadata?.labels?.['zrh.dev/role'] !== 'clone') continue;
    const owners = c.metadata.ownerReferences ?? [];
    if (owners.some((o) => o.kind === 'VolumeSnapshot') || expires(c)) continue;
    left.push(`clone ${c.metadata.name ?? '?'} (owners: ${owners.map((o) => `${o.kind}/${o.name}`).join(', ') || 'none'}, no expiry)`);
  }
  for (const s of snapshots.items.filter(alive)) {
    if (s.metadata?.labels?.['zrh.dev/role'] !== 'candidate' || expires(s)) continue;
    left.push(`snapshot ${s.metadata.name ?? '?'} (a candidate without expiry)`);
  }
  return left;
}

/** Reads the head and its snapshot as the admin sees them; undefined parts when they cannot be read. */
async function headNow(world: CacheWorld): Promise<{ head: CacheFaultJob['headAfter']; snapshot: VolumeSnapshot | undefined }> {
  const head = await world.head(CACHE).catch(() => undefined);
  if (!head) return { head, snapshot: undefined };
  const snapshot = (await world.custom.getNamespacedCustomObject({ ...SNAPSHOTS, namespace: world.ns.name, name: head.snapshot }).catch(() => undefined)) as
    | VolumeSnapshot
    | undefined;
  return { head, snapshot };
}

/**
 * Runs one promoting cache job on `runner` (its state reset first): prepare_job, if that worked a
 * script step writing the marker of `tag` into $CONAN_HOME, and cleanup_job. `arm` is called
 * right before each command starts (to set the proxy's faults for it).
 */
export async function runCacheFaultJob(
  world: CacheWorld,
  runner: StartedRunner,
  proxy: FaultProxy,
  tag: string,
  arm: (command: Command) => void = () => undefined,
): Promise<CacheFaultJob> {
  runner.simulator.setState(null);
  const headBefore = await world.head(CACHE);
  const calls: HookCall[] = [];
  const hung: Command[] = [];
  const requests = new Map<Command, RecordedRequest[]>();
  const all: RecordedRequest[] = [];
  const run = async (command: Command, call: () => Promise<HookCall>) => {
    arm(command);
    const mark = proxy.requests.length;
    const result = await guarded(runner, call, hung, command);
    const mine = proxy.requests.slice(mark) as RecordedRequest[];
    requests.set(command, [...(requests.get(command) ?? []), ...mine]);
    all.push(...mine);
    calls.push(result);
    return result;
  };
  const prepare = await run('prepare_job', () => runner.simulator.prepareJob(jobContainer(PROMOTING)));
  const clone = cloneOf(prepare.stateAfter);
  if (prepare.ok) {
    await run('run_script_step', () =>
      runner.simulator.runScript(`mkdir -p "$CONAN_HOME/p"\nprintf '%s' '${markerText(tag)}' > "$CONAN_HOME/${markerFile(tag)}"\n`),
    );
  }
  await run('cleanup_job', () => runner.simulator.cleanupJob());
  const { head: headAfter, snapshot: headSnapshot } = await headNow(world);
  return {
    tag,
    calls,
    hung,
    requests,
    creates: committedCreates(all),
    clone: typeof clone === 'string' ? clone : undefined,
    headBefore,
    headAfter,
    headSnapshot,
    leftovers: await cacheLeftovers(world, runner.pod.name),
  };
}

/** A job's `::warning::` lines, decoded as the runner shows them. */
function warnings(call: HookCall): string[] {
  return call.stdout
    .split('\n')
    .filter((l) => l.startsWith('::warning::'))
    .map((l) => l.slice('::warning::'.length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'));
}

/**
 * The verdict on a cache job, with what decided it. `promoted` says whether the head's snapshot
 * is this job's and ready; the caller checks the marker in a fresh clone of it.
 */
export function judgeCacheJob(job: CacheFaultJob): { readonly verdict: Verdict; readonly detail: string; readonly promoted: boolean } {
  const duplicates = [...job.creates].filter(([resource, n]) => SINGLE_CREATES.includes(resource) && n > 1).map(([r, n]) => `${n} ${r} created`);
  const headReady = job.headSnapshot?.status?.readyToUse === true && !job.headSnapshot.metadata?.deletionTimestamp;
  const headProblem = !job.headAfter
    ? ['the head cannot be read']
    : headReady
      ? []
      : [`the head points at ${job.headAfter.snapshot}, which is not a ready snapshot`];
  const leaks = [...duplicates, ...headProblem, ...(job.leftovers.length ? [`left: ${job.leftovers.join(', ')}`] : [])];
  const promoted =
    job.headAfter?.generation === job.headBefore.generation + 1 &&
    headReady &&
    job.clone !== undefined &&
    job.headSnapshot?.spec?.source?.persistentVolumeClaimName === job.clone;
  if (leaks.length) return { verdict: 'leaked', detail: leaks.join('; '), promoted };
  if (job.hung.length) return { verdict: 'failed unclearly', detail: `${job.hung.join(', ')} still running after ${CALL_LIMIT_MS / 1000} s, killed`, promoted };
  const prepare = job.calls.find((c) => c.command === 'prepare_job');
  const step = job.calls.find((c) => c.command === 'run_script_step');
  const cleanup = job.calls.find((c) => c.command === 'cleanup_job');
  const failed = prepare && !prepare.ok ? prepare : step && step.exitCode !== 0 ? step : cleanup && !cleanup.ok ? cleanup : undefined;
  if (failed) {
    const line = errorLine(failed);
    const how = `${failed.command} exit ${String(failed.exitCode ?? failed.signal)}`;
    return { verdict: isClear(line) ? 'failed clearly' : 'failed unclearly', detail: `${how}: ${line ?? 'no ::error:: line'}`, promoted };
  }
  if (promoted) return { verdict: 'completed', detail: '', promoted };
  // Every command succeeded but the head did not move to this job's snapshot: cleanup_job must say why.
  const said = cleanup ? warnings(cleanup) : [];
  const why = said.find((w) => isClear(w));
  const moved = job.headAfter
    ? `head at generation ${job.headAfter.generation} (${job.headAfter.snapshot}), was generation ${job.headBefore.generation}`
    : 'head unreadable';
  return why
    ? { verdict: 'failed clearly', detail: `cleanup_job exit 0, not promoted (${moved}): ${why}`, promoted }
    : { verdict: 'failed unclearly', detail: `every command succeeded but nothing was promoted (${moved}); warnings: ${said.join(' / ') || 'none'}`, promoted };
}
