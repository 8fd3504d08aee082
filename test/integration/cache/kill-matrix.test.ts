/**
 * The hook SIGKILLed (no chance to clean up) in every phase of prepare_job, run_script_step,
 * run_container_step and cleanup_job, with and without a cache clone, each followed by what
 * happens next in real life:
 * - `cleanup_job`: the runner's cleanup_job with the state it has (that of the last command that
 *   completed: `null` after a killed prepare_job); after a killed cleanup_job, the same cleanup_job
 *   again;
 * - `runner pod deleted`: the runner pod goes as ARC deletes it, and Kubernetes' garbage collector
 *   takes what it owns;
 * - `zfs-clone gc`: gc of the cache right away, the runner still alive.
 * Whatever came first, the runner pod then goes (ARC deletes it after every job), the keep times
 * run out and gc runs. After each stage nothing is left that should not be: no pod, Secret or PVC
 * of the runner beyond what the stage allows, no VolumeSnapshot that is neither a generation of
 * the cache nor kept with an expiry, and the cache head points at a ready snapshot, unmoved or
 * moved fast-forward to this job's own snapshot.
 *
 * Each kill is triggered by what a user could see (a line the hook prints, an object appearing or
 * changing in the cluster, a file the job writes), and each case first proves from the hook's
 * output and the cluster at kill time that the kill landed in its phase. Cases run side by side,
 * each lane with a cache of its own.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../cluster/harness.js';
import { HookLines } from '../../simulator/hook-lines.js';
import type { HookCall, RunnerSimulator } from '../../simulator/runner.js';
import type { StartedRunner } from '../../simulator/start.js';
import type { WorkflowContainer } from '../../simulator/stdin.js';
import { createCacheWorld, output, type CacheWorld, type Inventory, type Watched, type WatchedResource } from './cache-fixtures.js';

const BUSYBOX = 'zrh.local/busybox:1';
/** Cases run side by side (lanes), each with its own runner and its lane's cache. */
const SIDE_BY_SIDE = 3;
/**
 * The hook's nice value: on a busy machine the test, which reacts to what the hook prints or does,
 * then runs before the hook goes on to its next phase.
 */
const HOOK_PRIORITY = 15;
const CREDENTIALS = { username: 'km-user', password: 'km-registry-pass-5521' };
/**
 * Slow motion: from a line the hook prints on (its first, by default), it stands still (SIGSTOP)
 * and runs only in pulses of `pulseMs`, `pauseMs` apart. Each pulse starts after the test has read
 * what arrived meanwhile (the hook's lines, watch events), so a kill lands before the hook's next
 * step even when a phase lasts one request; a test busy elsewhere leaves the hook standing, not
 * running ahead. What the hook waits for (the API server, the node) keeps its own pace.
 */
const SLOW_MOTION = { pulseMs: 2, pauseMs: 25 } as const;
/** Where slow motion starts unless a phase says otherwise: the hook's first line, once it has loaded. */
const HOOK_STARTED = /^\[debug\] Hook command /;
/** Written by the job's slow `sync` when cleanup_job's flush starts (container path, under /__w/_temp). */
const FLUSH_MARKER = 'km-flush-started';
/**
 * A `sync` first on the job container's PATH that is slow the first time only: the flush then
 * runs long enough to be killed in, and a later cleanup_job flushes at once.
 */
const SLOW_SYNC = `#!/bin/sh
if [ ! -e /__w/_temp/${FLUSH_MARKER} ]; then : > /__w/_temp/${FLUSH_MARKER}; sleep 5; fi
exec /bin/sync "$@"
`;

type Command = 'prepare_job' | 'run_script_step' | 'run_container_step' | 'cleanup_job';
type FollowUp = 'cleanup_job' | 'runner pod deleted' | 'zfs-clone gc';

/** How the job is set up before the killed command. */
interface JobSetup {
  /** The job clones the cache (and asks to promote it). */
  readonly clone: boolean;
  /** Extra `container.env` (cache settings). */
  readonly env?: Readonly<Record<string, string>>;
  /** A step that fails runs before cleanup_job. */
  readonly failedStep?: boolean;
  /** The job's `sync` is slow once (see {@link SLOW_SYNC}). */
  readonly slowFlush?: boolean;
  /** Another job cloned the same generation and promoted before this job's cleanup_job. */
  readonly rival?: boolean;
  /** The killed step prints a line and goes on running, or prints a line and ends. */
  readonly step?: 'runs' | 'ends';
}

/** What the test knows while a case runs. */
interface Context {
  readonly runnerPod: string;
  readonly cache: string;
  readonly runner: StartedRunner;
  /** The head before the killed command. */
  readonly before: { readonly generation: number; readonly snapshot: string };
}

/** When the hook is killed. */
type Trigger =
  | { readonly line: RegExp }
  /** Every one of these lines has been printed, in any order. */
  | { readonly lines: readonly RegExp[] }
  | {
      readonly watch: WatchedResource;
      readonly selector: (ctx: Context) => string;
      readonly when: (object: Watched, ctx: Context) => boolean;
    }
  /** A file the job writes, by its path under the runner's `_work/_temp`. */
  | { readonly tempFile: string };

/** What the test saw when the hook died. */
interface Scene {
  readonly call: HookCall;
  /** What fired the kill. */
  readonly fired: string;
  readonly at: Inventory;
  readonly ctx: Context;
}

interface Phase {
  readonly command: Command;
  readonly phase: string;
  readonly job: JobSetup;
  readonly trigger: Trigger;
  /** Proves from the hook's output and the cluster at kill time that the kill landed in the phase. */
  readonly proof: (scene: Scene) => void;
  /** The line from which the hook runs in {@link SLOW_MOTION}. @default HOOK_STARTED */
  readonly slowFrom?: RegExp;
  /**
   * The pause between two pulses of slow motion. @default SLOW_MOTION.pauseMs. Longer for a phase
   * whose next step is one answer away (the test must see the trigger before the hook's next pulse).
   */
  readonly pauseMs?: number;
  /** The head had moved to this job's snapshot when the hook died. */
  readonly promotedAtKill?: boolean;
  /** cleanup_job again (same state) completes this job's promotion. */
  readonly retryPromotes?: boolean;
  readonly followUps: readonly FollowUp[];
}

// ---- reading the scene ----

const stdoutOf = (scene: Scene) => scene.call.stdout;
const jobPods = (inv: Inventory) => inv.pods.filter((p) => p.role === 'job');
const stepPods = (inv: Inventory) => inv.pods.filter((p) => p.role === 'step');
const clones = (inv: Inventory) => inv.pvcs;
const ownSnapshots = (inv: Inventory, runnerPod: string) => inv.snapshots.filter((s) => s.runnerPod === runnerPod);
const ownerKinds = (owners: readonly string[]) => owners.map((o) => o.split('/')[0]);
const labelled = (role: string) => (ctx: Context) => `runner-pod=${ctx.runnerPod},zrh.dev/role=${role}`;
const ofRunner = (ctx: Context) => `runner-pod=${ctx.runnerPod}`;

function cloneOwnedBy(scene: Scene, owner: 'runner pod' | 'job pod' | 'its snapshot'): void {
  const [clone] = clones(scene.at);
  expect(clone, `the clone PVC exists (killed on ${scene.fired})`).toBeDefined();
  const owners = clone?.owners ?? [];
  if (owner === 'runner pod') expect(owners).toEqual([`Pod/${scene.ctx.runnerPod}`]);
  else if (owner === 'job pod') expect(owners).toEqual([`Pod/${jobPods(scene.at)[0]?.name ?? '?'}`]);
  else expect(ownerKinds(owners)).toEqual(['VolumeSnapshot']);
}

function headUnmoved(scene: Scene): void {
  expect({ generation: scene.at.head.generation, snapshot: scene.at.head.snapshot }).toEqual(scene.ctx.before);
}

// ---- the phases ----

const promoting = (cache: string) => ({ ZFS_CLONE_SOURCE: cache, ZFS_CLONE_PROMOTE: 'true' });
const ALL: readonly FollowUp[] = ['cleanup_job', 'runner pod deleted', 'zfs-clone gc'];
const AFTER_STEP: readonly FollowUp[] = ['cleanup_job', 'runner pod deleted'];

const PHASES: readonly Phase[] = [
  // prepare_job, with a clone
  {
    command: 'prepare_job',
    phase: 'after the runner pod is read',
    job: { clone: true },
    trigger: { line: /^Workspace mode: / },
    proof: (s) => {
      expect(stdoutOf(s)).not.toMatch(/^Cloning /m);
      expect(s.at.pvcs).toEqual([]);
      expect(s.at.pods).toEqual([]);
    },
    followUps: ALL,
  },
  {
    command: 'prepare_job',
    phase: 'after the clone PVC is created',
    job: { clone: true },
    trigger: { watch: 'persistentvolumeclaims', selector: labelled('clone'), when: () => true },
    proof: (s) => {
      cloneOwnedBy(s, 'runner pod');
      expect(stdoutOf(s)).not.toMatch(/^Clone PVC \S+ is ready/m);
      expect(s.at.pods).toEqual([]);
    },
    followUps: ALL,
  },
  {
    command: 'prepare_job',
    phase: 'while the clone binds',
    job: { clone: true },
    trigger: { line: /clone PVC \S+: / },
    proof: (s) => {
      cloneOwnedBy(s, 'runner pod');
      expect(stdoutOf(s)).not.toMatch(/^Clone PVC \S+ is ready/m);
      expect(s.at.pods).toEqual([]);
    },
    followUps: ALL,
  },
  {
    command: 'prepare_job',
    phase: 'after the clone is bound, before the job pod',
    job: { clone: true },
    trigger: { line: /^Clone PVC \S+ is ready/ },
    proof: (s) => {
      cloneOwnedBy(s, 'runner pod');
      expect(clones(s.at)[0]?.phase).toBe('Bound');
      expect(stdoutOf(s)).not.toMatch(/Job pod spec/);
      expect(s.at.pods).toEqual([]);
    },
    slowFrom: /^Cloning /,
    followUps: ALL,
  },
  {
    command: 'prepare_job',
    phase: 'after the registry Secret is created',
    job: { clone: true },
    trigger: { line: /^\[debug\] Job pod spec: / },
    proof: (s) => {
      expect(s.at.secrets.map((x) => x.role)).toEqual(['registry']);
      cloneOwnedBy(s, 'runner pod');
      expect(stdoutOf(s)).not.toMatch(/^Job pod \S+: /m);
    },
    // Slow from the clone's start, not from its last line before the trigger: from that line the
    // hook would run at full speed until the test has read it, which on a loaded machine is long
    // enough to create the job pod and hand the clone to it.
    slowFrom: /^Cloning /,
    pauseMs: 250,
    followUps: ALL,
  },
  {
    command: 'prepare_job',
    phase: 'after the job pod is created, before the clone is handed to it',
    job: { clone: true },
    trigger: { watch: 'pods', selector: labelled('job'), when: () => true },
    proof: (s) => {
      expect(jobPods(s.at)).toHaveLength(1);
      cloneOwnedBy(s, 'runner pod');
      expect(stdoutOf(s)).not.toMatch(/^Job pod \S+: /m);
    },
    // The hand-over is sent the moment the create's answer is read: the watch event must reach
    // the test before the hook's next pulse, also on a loaded machine.
    slowFrom: /^Cloning /,
    pauseMs: 250,
    followUps: ALL,
  },
  {
    command: 'prepare_job',
    phase: 'after the clone is handed to the job pod',
    job: { clone: true },
    trigger: {
      watch: 'persistentvolumeclaims',
      selector: labelled('clone'),
      when: (o, ctx) => (o.metadata?.ownerReferences ?? []).some((r) => r.kind === 'Pod' && r.name !== ctx.runnerPod),
    },
    proof: (s) => {
      cloneOwnedBy(s, 'job pod');
      expect(stdoutOf(s)).not.toMatch(/is ready on node/);
    },
    followUps: ALL,
  },
  {
    command: 'prepare_job',
    phase: 'while waiting for the job pod',
    job: { clone: true },
    trigger: { line: /^Job pod \S+: Pending/ },
    proof: (s) => {
      expect(jobPods(s.at)).toHaveLength(1);
      expect(stdoutOf(s)).not.toMatch(/reached "ready"/);
    },
    followUps: ALL,
  },
  {
    command: 'prepare_job',
    phase: 'after the job pod is ready, before the answer',
    job: { clone: true },
    trigger: { line: /reached "ready"/ },
    proof: (s) => {
      cloneOwnedBy(s, 'job pod');
      expect(s.call.responseText ?? '').toBe('');
    },
    followUps: ALL,
  },
  // prepare_job, without a clone
  {
    command: 'prepare_job',
    phase: 'after the runner pod is read',
    job: { clone: false },
    trigger: { line: /^Workspace mode: / },
    proof: (s) => {
      expect(stdoutOf(s)).not.toMatch(/Job pod spec/);
      expect(s.at.pods).toEqual([]);
    },
    followUps: ['cleanup_job', 'runner pod deleted'],
  },
  {
    command: 'prepare_job',
    phase: 'after the registry Secret is created',
    job: { clone: false },
    trigger: { line: /^\[debug\] Job pod spec: / },
    proof: (s) => {
      expect(s.at.secrets.map((x) => x.role)).toEqual(['registry']);
      expect(stdoutOf(s)).not.toMatch(/^Job pod \S+: /m);
    },
    followUps: ['cleanup_job', 'runner pod deleted'],
  },
  {
    command: 'prepare_job',
    phase: 'while waiting for the job pod',
    job: { clone: false },
    trigger: { line: /^Job pod \S+: Pending/ },
    proof: (s) => {
      expect(jobPods(s.at)).toHaveLength(1);
      expect(stdoutOf(s)).not.toMatch(/reached "ready"/);
    },
    followUps: ['cleanup_job', 'runner pod deleted'],
  },
  // the steps
  {
    command: 'run_script_step',
    phase: 'while the step runs',
    job: { clone: true },
    trigger: { line: /^km-step-running$/ },
    proof: (s) => {
      expect(stdoutOf(s)).toMatch(/^km-step-running$/m);
      expect(jobPods(s.at)).toHaveLength(1);
    },
    followUps: AFTER_STEP,
  },
  {
    command: 'run_script_step',
    phase: 'after the step succeeded, before the answer',
    job: { clone: true, step: 'ends' },
    trigger: { line: /^km-step-done$/ },
    proof: (s) => {
      expect(stdoutOf(s)).toMatch(/^km-step-done$/m);
      expect(s.call.responseText ?? '').toBe('');
    },
    followUps: AFTER_STEP,
  },
  {
    command: 'run_container_step',
    phase: "after the step's env Secret is created",
    job: { clone: true },
    trigger: { watch: 'secrets', selector: labelled('step-env'), when: () => true },
    proof: (s) => {
      expect(s.at.secrets.map((x) => x.role)).toContain('step-env');
      expect(stdoutOf(s)).not.toMatch(/^Running \S+ in step pod/m);
    },
    followUps: AFTER_STEP,
  },
  {
    command: 'run_container_step',
    phase: 'while the step pod runs',
    job: { clone: true },
    trigger: { line: /^km-container-running$/ },
    proof: (s) => {
      expect(stepPods(s.at)).toHaveLength(1);
      expect(stdoutOf(s)).not.toMatch(/reached "terminated"/);
    },
    followUps: AFTER_STEP,
  },
  {
    command: 'run_container_step',
    phase: 'after the step pod is created',
    job: { clone: true },
    trigger: { watch: 'pods', selector: labelled('step'), when: () => true },
    proof: (s) => {
      expect(stepPods(s.at)).toHaveLength(1);
      expect(stdoutOf(s)).not.toMatch(/reached "started"/);
    },
    followUps: AFTER_STEP,
  },
  {
    command: 'run_container_step',
    phase: 'after the step ended, before the answer',
    job: { clone: true, step: 'ends' },
    trigger: { lines: [/reached "terminated"/, /^km-container-done$/] },
    proof: (s) => {
      expect(stdoutOf(s)).toMatch(/^km-container-done$/m);
      expect(s.call.responseText ?? '').toBe('');
    },
    followUps: AFTER_STEP,
  },
  {
    command: 'run_script_step',
    phase: 'while the step runs',
    job: { clone: false },
    trigger: { line: /^km-step-running$/ },
    proof: (s) => {
      expect(stdoutOf(s)).toMatch(/^km-step-running$/m);
    },
    followUps: AFTER_STEP,
  },
  // cleanup_job of a job that promotes
  {
    command: 'cleanup_job',
    phase: 'before the cache is cleaned up',
    job: { clone: true },
    trigger: { line: /^::group::Build cache/ },
    proof: (s) => {
      cloneOwnedBy(s, 'job pod');
      expect(ownSnapshots(s.at, s.ctx.runnerPod)).toEqual([]);
      headUnmoved(s);
    },
    retryPromotes: true,
    followUps: ALL,
  },
  {
    command: 'cleanup_job',
    phase: 'during the flush',
    job: { clone: true, slowFlush: true },
    trigger: { tempFile: FLUSH_MARKER },
    proof: (s) => {
      expect(ownSnapshots(s.at, s.ctx.runnerPod)).toEqual([]);
      expect(stdoutOf(s)).not.toMatch(/snapshot of \S+:/);
      headUnmoved(s);
    },
    retryPromotes: true,
    followUps: ALL,
  },
  {
    command: 'cleanup_job',
    phase: 'after the VolumeSnapshot is created',
    job: { clone: true },
    trigger: { watch: 'volumesnapshots', selector: ofRunner, when: () => true },
    proof: (s) => {
      expect(ownSnapshots(s.at, s.ctx.runnerPod)).toHaveLength(1);
      expect(stdoutOf(s)).not.toMatch(/of the clone is ready/);
      headUnmoved(s);
    },
    retryPromotes: true,
    followUps: ALL,
  },
  {
    command: 'cleanup_job',
    phase: 'while the snapshot becomes ready',
    job: { clone: true },
    trigger: { line: /snapshot of \S+: snapshot created, waiting until ready/ },
    proof: (s) => {
      expect(ownSnapshots(s.at, s.ctx.runnerPod)).toHaveLength(1);
      expect(stdoutOf(s)).not.toMatch(/of the clone is ready/);
      headUnmoved(s);
    },
    retryPromotes: true,
    followUps: ALL,
  },
  {
    command: 'cleanup_job',
    phase: 'after the clone is handed to its snapshot',
    job: { clone: true },
    trigger: {
      watch: 'persistentvolumeclaims',
      selector: labelled('clone'),
      when: (o) => (o.metadata?.ownerReferences ?? []).some((r) => r.kind === 'VolumeSnapshot'),
    },
    proof: (s) => {
      cloneOwnedBy(s, 'its snapshot');
      expect(stdoutOf(s)).not.toMatch(/of the clone is ready/);
      headUnmoved(s);
    },
    retryPromotes: true,
    slowFrom: /snapshot created, waiting until ready/,
    followUps: ALL,
  },
  {
    command: 'cleanup_job',
    phase: 'snapshot ready, before the head moves',
    job: { clone: true },
    trigger: { line: /^Snapshot \S+ of the clone is ready/ },
    proof: (s) => {
      expect(ownSnapshots(s.at, s.ctx.runnerPod).map((x) => x.ready)).toEqual([true]);
      headUnmoved(s);
    },
    retryPromotes: true,
    followUps: ALL,
  },
  {
    command: 'cleanup_job',
    phase: "mid-promotion: right after the head's compare-and-swap",
    job: { clone: true },
    trigger: {
      watch: 'configmaps',
      selector: () => 'zrh.dev/role=head',
      when: (o, ctx) => o.metadata?.name === `zfs-cache-${ctx.cache}` && Number((o as V1ConfigMap).data?.['generation']) > ctx.before.generation,
    },
    proof: (s) => {
      expect(s.at.head.generation).toBe(s.ctx.before.generation + 1);
      // The relabelling of the snapshot as a generation is the swap's next request: the kill
      // usually lands before it, on a busy machine sometimes just after. Both must end clean.
      expect(ownSnapshots(s.at, s.ctx.runnerPod).map((x) => x.name)).toEqual([s.at.head.snapshot]);
      expect(stdoutOf(s)).not.toMatch(/now at generation/);
    },
    promotedAtKill: true,
    slowFrom: /^Snapshot \S+ of the clone is ready/,
    followUps: ALL,
  },
  {
    command: 'cleanup_job',
    phase: "promoted, during the cache's gc",
    job: { clone: true },
    trigger: { line: /^Cache \S+ now at generation/ },
    proof: (s) => {
      expect(s.at.head.generation).toBe(s.ctx.before.generation + 1);
      expect(jobPods(s.at).map((p) => p.deleting)).toEqual([false]);
    },
    promotedAtKill: true,
    followUps: ALL,
  },
  {
    command: 'cleanup_job',
    phase: 'promoted, while the job pod is deleted',
    job: { clone: true },
    trigger: { line: /^\[debug\] zfs-clone cleanup: / },
    proof: (s) => {
      expect(s.at.head.generation).toBe(s.ctx.before.generation + 1);
      expect(stdoutOf(s)).not.toMatch(/^Cleaned up/m);
    },
    promotedAtKill: true,
    slowFrom: /^Cache \S+ now at generation/,
    followUps: ALL,
  },
  // cleanup_job of a job that lost the race, failed, or has no clone
  {
    command: 'cleanup_job',
    phase: 'lost the race, dropping its snapshot (ZFS_CLONE_ON_CONFLICT=drop)',
    job: { clone: true, rival: true },
    trigger: { line: /moved to generation \d+ since this job cloned generation \d+; snapshot \S+ dropped/ },
    proof: (s) => {
      headUnmoved(s);
      expect(stdoutOf(s)).not.toMatch(/^Cleaned up/m);
    },
    followUps: ALL,
  },
  {
    command: 'cleanup_job',
    phase: 'lost the race (ZFS_CLONE_ON_CONFLICT=keep), before its snapshot is given its keep time',
    job: { clone: true, rival: true, env: { ZFS_CLONE_ON_CONFLICT: 'keep' } },
    trigger: { line: /^Snapshot \S+ of the clone is ready/ },
    proof: (s) => {
      headUnmoved(s);
      // Still the lease it was created with (the wait plus gc's grace), not the 24 h keep time.
      const [snapshot] = ownSnapshots(s.at, s.ctx.runnerPod);
      expect(Date.parse(snapshot?.expiresAt ?? '') - Date.now()).toBeLessThan(3_600_000);
    },
    slowFrom: /^::group::ZFS clone/,
    followUps: ALL,
  },
  {
    command: 'cleanup_job',
    phase: "a failed job's cleanup, before its clone is released",
    job: { clone: true, failedStep: true },
    trigger: { line: /^::group::ZFS clone/ },
    proof: (s) => {
      expect(clones(s.at).map((c) => c.deleting)).toEqual([false]);
      headUnmoved(s);
    },
    followUps: ALL,
  },
  {
    command: 'cleanup_job',
    phase: "a failed job's clone released, before the job pod is deleted",
    job: { clone: true, failedStep: true },
    trigger: { line: /^\[debug\] zfs-clone cleanup: / },
    proof: (s) => {
      expect(clones(s.at).map((c) => c.deleting)).toEqual([true]);
      expect(ownSnapshots(s.at, s.ctx.runnerPod)).toEqual([]);
      expect(stdoutOf(s)).not.toMatch(/^Cleaned up/m);
      headUnmoved(s);
    },
    slowFrom: /^::group::ZFS clone/,
    followUps: ALL,
  },
  {
    command: 'cleanup_job',
    phase: "a failed job's clone kept (ZFS_CLONE_KEEP_ON_FAILURE), before the job pod is deleted",
    job: { clone: true, failedStep: true, env: { ZFS_CLONE_KEEP_ON_FAILURE: '1h' } },
    trigger: { line: /^Failed job's clone \S+ kept for/ },
    proof: (s) => {
      expect(clones(s.at).map((c) => [c.kept, c.owners])).toEqual([[true, []]]);
      expect(stdoutOf(s)).not.toMatch(/^Cleaned up/m);
      headUnmoved(s);
    },
    slowFrom: /^::group::ZFS clone/,
    followUps: ALL,
  },
  {
    command: 'cleanup_job',
    phase: 'before the job pod is deleted',
    job: { clone: false },
    trigger: { line: /^\[debug\] Hook command cleanup_job/ },
    proof: (s) => {
      expect(jobPods(s.at).map((p) => p.deleting)).toEqual([false]);
      expect(stdoutOf(s)).not.toMatch(/^Cleaned up/m);
    },
    followUps: ['cleanup_job', 'runner pod deleted'],
  },
];

// ---- what may be left ----

type Stage = 'cleaned' | 'gc right away' | 'runner pod gone' | 'collected';

interface Expectation {
  readonly runnerPod: string;
  /** The head the case must see: the head before, or this job's snapshot one generation on. */
  readonly head: { readonly generation: number; readonly snapshot: string } | 'promoted';
  readonly before: { readonly generation: number; readonly snapshot: string };
}

/** Everything in `inv` that should not be there at `stage`; empty when all is well. */
function leftovers(inv: Inventory, stage: Stage, e: Expectation): string[] {
  const problems: string[] = [];
  const live = inv.snapshots.filter((s) => !s.deleting);
  const head = live.find((s) => s.name === inv.head.snapshot);
  if (!head?.ready) problems.push(`the head snapshot ${inv.head.snapshot} is ${head ? 'not ready' : 'missing or being deleted'}`);
  if (e.head === 'promoted') {
    const mine = inv.snapshots.find((s) => s.name === inv.head.snapshot)?.runnerPod === e.runnerPod;
    const forward = inv.head.generation === e.before.generation + 1 && inv.head.history[1]?.snapshot === e.before.snapshot;
    if (!mine || !forward) problems.push(`the head ${JSON.stringify(inv.head)} is not this job's snapshot one generation after ${JSON.stringify(e.before)}`);
  } else if (inv.head.generation !== e.head.generation || inv.head.snapshot !== e.head.snapshot) {
    problems.push(`the head moved from ${JSON.stringify(e.head)} to ${JSON.stringify({ generation: inv.head.generation, snapshot: inv.head.snapshot })}`);
  }
  const generations = new Set(inv.head.history.map((h) => h.snapshot));

  for (const s of live) {
    if (generations.has(s.name)) continue;
    if (stage === 'collected') problems.push(`snapshot ${s.name} (${s.role ?? '?'}) is not a generation and survived gc`);
    else if (!s.expiresAt) problems.push(`snapshot ${s.name} (${s.role ?? '?'}) is neither a generation nor kept with an expiry`);
  }
  for (const p of inv.pvcs) {
    const snapshotOwner = p.owners.find((o) => o.startsWith('VolumeSnapshot/'))?.slice('VolumeSnapshot/'.length);
    if (snapshotOwner !== undefined) {
      if (stage === 'collected' && !generations.has(snapshotOwner)) problems.push(`PVC ${p.name} of snapshot ${snapshotOwner} survived gc`);
      else if (!live.some((s) => s.name === snapshotOwner) && !p.deleting) problems.push(`PVC ${p.name} is owned by ${snapshotOwner}, which is gone`);
      continue;
    }
    if (p.kept && p.expiresAt && stage !== 'collected') continue;
    if (stage === 'gc right away') continue; // in use by the job or its runner, which still live
    problems.push(`PVC ${p.name} (owners ${p.owners.join(', ') || 'none'}${p.kept ? ', kept' : ''}${p.deleting ? ', being deleted' : ''}) is left`);
  }
  for (const p of inv.pods) {
    if (stage === 'gc right away') continue;
    problems.push(`pod ${p.name} (${p.role ?? '?'}${p.deleting ? ', being deleted' : ''}) is left`);
  }
  for (const s of inv.secrets) {
    // cleanup_job deletes every Secret a killed command made (the hook's journal names them).
    if (stage === 'gc right away') continue;
    problems.push(`Secret ${s.name} (${s.role ?? '?'}, owners ${s.owners.join(', ') || 'none'}) is left`);
  }
  return problems;
}

function describeInventory(inv: Inventory): string {
  return JSON.stringify({ ...inv, head: { generation: inv.head.generation, snapshot: inv.head.snapshot, history: inv.head.history.slice(0, 3) } }, null, 1);
}

// ---- the report ----

/** One row of the table written to `ZRH_KILL_MATRIX_REPORT`, when set. */
interface Row {
  readonly name: string;
  readonly fired: string;
  readonly seen: string;
  readonly after: string;
}

/** What the cluster showed when the hook died, in a few words. */
function summarize(at: Inventory, ctx: Context): string {
  const parts = [
    ...at.pvcs.map(
      (p) =>
        `clone ${p.phase ?? '?'}${p.deleting ? ' deleting' : ''}${p.kept ? ' kept' : ''}, owner ${p.owners.map((o) => (o === `Pod/${ctx.runnerPod}` ? 'runner pod' : o.split('/')[0] === 'Pod' ? 'job pod' : o.split('/')[0])).join('+') || 'none'}`,
    ),
    ...at.pods.map((p) => `${p.role ?? '?'} pod${p.deleting ? ' deleting' : ''}`),
    ...at.secrets.map((x) => `${x.role ?? '?'} Secret`),
    ...ownSnapshots(at, ctx.runnerPod).map((x) => `snapshot ${x.ready ? 'ready' : 'not ready'} (${x.role ?? '?'})${x.deleting ? ' deleting' : ''}`),
    at.head.generation === ctx.before.generation ? 'head unmoved' : `head at generation ${at.head.generation}`,
  ];
  return parts.join('; ');
}

async function writeReport(file: string, rows: readonly Row[]): Promise<void> {
  const cell = (t: string) => t.replace(/\|/g, '\\|');
  const lines = [
    '| case | killed on | seen at kill time | after the follow-up |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${cell(r.name)} | ${cell(r.fired)} | ${cell(r.seen)} | ${cell(r.after)} |`),
  ];
  await writeFile(file, `${lines.join('\n')}\n`);
}

// ---- slow motion ----

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Runs the hook in {@link SLOW_MOTION} until `stop()`. */
function slowMotion(sim: RunnerSimulator, pauseMs: number = SLOW_MOTION.pauseMs): { stop(): void } {
  let running = true;
  let timer: NodeJS.Timeout | undefined;
  const next = () => {
    timer = setTimeout(() => setImmediate(pulse), pauseMs);
  };
  const pulse = () => {
    if (!running) return;
    sim.kill('SIGCONT');
    Atomics.wait(sleeper, 0, 0, SLOW_MOTION.pulseMs);
    sim.kill('SIGSTOP');
    next();
  };
  sim.kill('SIGSTOP');
  next();
  return {
    stop: () => {
      running = false;
      clearTimeout(timer);
      sim.kill('SIGCONT');
    },
  };
}

// ---- the suite ----

const CASES = PHASES.flatMap((phase) =>
  phase.followUps.map((followUp) => ({
    name: `${phase.command}${phase.job.clone ? '' : ' without a clone'}: ${phase.phase}, then ${followUp}`,
    phase,
    followUp,
  })),
);
/** Each lane (a case at a time) has a cache of its own; a case starts from what the last one left. */
const LANES = Array.from({ length: SIDE_BY_SIDE }, (_, i) => `km-${i}`);

describe.concurrent('a hook SIGKILLed in each phase, and what comes next', () => {
  let world: CacheWorld;

  beforeAll(async () => {
    world = await createCacheWorld('cache-kill', 'km-0', LANES);
    await Promise.all(LANES.slice(1).map((cache) => world.seed(cache)));
  });
  const rows: Row[] = [];
  afterAll(async () => {
    const report = process.env['ZRH_KILL_MATRIX_REPORT'];
    if (report)
      await writeReport(
        report,
        [...rows].sort((a, b) => CASES.findIndex((c) => c.name === a.name) - CASES.findIndex((c) => c.name === b.name)),
      );
    await world?.dispose();
  });

  /**
   * Runners started ahead of the cases that take them (a runner pod takes seconds to start), each
   * with the lines its hook prints.
   */
  let runnersToStart = CASES.length + CASES.filter((c) => c.phase.job.rival).length;
  const startedAhead: Promise<{ runner: StartedRunner; lines: HookLines }>[] = [];
  function startAhead(): void {
    while (startedAhead.length < SIDE_BY_SIDE && runnersToStart > 0) {
      runnersToStart -= 1;
      const lines = new HookLines();
      const started = world.runner({ onOutput: lines.onOutput, hookPriority: HOOK_PRIORITY }).then((runner) => ({ runner, lines }));
      started.catch(() => undefined); // reported by the case that takes it
      startedAhead.push(started);
    }
  }
  async function takeRunner(): Promise<{ runner: StartedRunner; lines: HookLines }> {
    startAhead();
    const next = startedAhead.shift();
    startAhead();
    if (!next) throw new Error('more runners taken than the cases need');
    return next;
  }

  const freeLanes = [...LANES];
  const waiting: ((cache: string) => void)[] = [];
  /** Runs a case in a free lane, with that lane's cache. */
  async function inLane<T>(run: (cache: string) => Promise<T>): Promise<T> {
    const cache = freeLanes.pop() ?? (await new Promise<string>((resolve) => waiting.push(resolve)));
    try {
      return await run(cache);
    } finally {
      const next = waiting.shift();
      if (next) next(cache);
      else freeLanes.push(cache);
    }
  }

  function jobContainer(job: JobSetup, cache: string): WorkflowContainer {
    return { image: BUSYBOX, credentials: CREDENTIALS, env: job.clone ? { ...promoting(cache), ...job.env } : {} };
  }

  /** Runs `command` and SIGKILLs the hook the moment `trigger` fires. */
  async function killOn(ctx: Context, lines: HookLines, phase: Phase, command: () => Promise<HookCall>): Promise<{ call: HookCall; fired: string }> {
    const { trigger } = phase;
    const sim = ctx.runner.simulator;
    let fired: string | undefined;
    const kill = (why: string) => {
      if (fired !== undefined) return;
      fired = why;
      sim.kill('SIGKILL');
    };
    const disarm: (() => void)[] = [];
    lines.reset();
    let motion: { stop(): void } | undefined;
    disarm.push(lines.first(phase.slowFrom ?? HOOK_STARTED, () => (motion = slowMotion(sim, phase.pauseMs))).cancel, () => motion?.stop());
    if ('line' in trigger) {
      disarm.push(lines.first(trigger.line, (l) => kill(`line "${l.slice(0, 120)}"`)).cancel);
    } else if ('lines' in trigger) {
      let left = trigger.lines.length;
      for (const pattern of trigger.lines)
        disarm.push(
          lines.first(pattern, (l) => {
            left -= 1;
            if (left === 0) kill(`line "${l.slice(0, 120)}" (the last of ${trigger.lines.length})`);
          }).cancel,
        );
    } else if ('watch' in trigger) {
      const w = await world.watch(trigger.watch, trigger.selector(ctx), (type, o) => {
        if (trigger.when(o, ctx)) kill(`${type} ${trigger.watch}/${o.metadata?.name ?? '?'}`);
      });
      disarm.push(() => w.stop());
    } else {
      const file = join(ctx.runner.layout.tempDir, trigger.tempFile);
      const timer = setInterval(() => {
        if (existsSync(file)) kill(`file _temp/${trigger.tempFile}`);
      }, 10);
      disarm.push(() => clearInterval(timer));
    }
    let call: HookCall;
    try {
      call = await command();
    } finally {
      for (const d of disarm) d();
    }
    expect(fired, `the trigger never fired while the hook ran:\n${output(call)}`).toBeDefined();
    expect(call.signal, `the hook was killed (on ${fired}) while it ran:\n${output(call)}`).toBe('SIGKILL');
    return { call, fired: fired ?? '' };
  }

  /** Everything a job does before the killed command; returns the command to kill. */
  async function arrange(phase: Phase, runner: StartedRunner, cache: string): Promise<() => Promise<HookCall>> {
    const sim = runner.simulator;
    const container = jobContainer(phase.job, cache);
    if (phase.command === 'prepare_job') return () => sim.prepareJob(container);
    const prepared = await sim.prepareJob(container);
    expect(prepared.ok, output(prepared)).toBe(true);
    if (phase.command === 'run_script_step') {
      return () => sim.runScript(phase.job.step === 'ends' ? 'echo km-step-done\n' : 'echo km-step-running\nsleep 60\n');
    }
    if (phase.command === 'run_container_step') {
      await writeFile(
        join(runner.layout.workspace, 'km-step.sh'),
        phase.job.step === 'ends' ? 'echo km-container-done\n' : 'echo km-container-running\nsleep 60\n',
      );
      return () => sim.runContainerStep({ image: BUSYBOX, entryPoint: 'sh', args: ['/github/workspace/km-step.sh'] });
    }
    const write = await sim.runScript(
      `mkdir -p "$CONAN_HOME/p" && echo "${runner.pod.name}" > "$CONAN_HOME/p/km.txt"\n` +
        (phase.job.slowFlush ? `mkdir -p /usr/local/bin && cat > /usr/local/bin/sync <<'EOF'\n${SLOW_SYNC}EOF\nchmod +x /usr/local/bin/sync\n` : ''),
    );
    expect(write.exitCode, output(write)).toBe(0);
    if (phase.job.failedStep) expect((await sim.runScript('exit 3\n')).exitCode).toBe(3);
    if (phase.job.rival) {
      const { runner: rival } = await takeRunner();
      expect((await rival.simulator.prepareJob(jobContainer({ clone: true }, cache))).ok).toBe(true);
      const rivalCleanup = await rival.simulator.cleanupJob();
      expect(rivalCleanup.ok, output(rivalCleanup)).toBe(true);
      expect(output(rivalCleanup)).toMatch(/now at generation/);
      await rival.dispose();
    }
    return () => sim.cleanupJob();
  }

  async function settled(stage: Stage, runnerPod: string, cache: string, e: Expectation): Promise<Inventory> {
    const inv = await waitFor(
      `nothing of runner ${runnerPod} and cache ${cache} left that should not be (${stage})`,
      () => world.inventory(runnerPod, cache),
      (i) => leftovers(i, stage, e).length === 0,
      { timeoutMs: 60_000, intervalMs: 500 },
    ).catch(async (error: unknown) => {
      const inv = await world.inventory(runnerPod, cache);
      throw new Error(`${stage}: ${leftovers(inv, stage, e).join('; ')}\n${describeInventory(inv)}`, { cause: error });
    });
    return inv;
  }

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (name, { phase, followUp }) =>
    inLane(async (cache) => {
      const { runner, lines } = await takeRunner();
      const runnerPod = runner.pod.name;
      const command = await arrange(phase, runner, cache);
      const before = await world.head(cache);
      const ctx: Context = { runnerPod, cache, runner, before };

      const { call, fired } = await killOn(ctx, lines, phase, command);
      const at = await world.inventory(runnerPod, cache);
      phase.proof({ call, fired, at, ctx });

      const promoted = phase.promotedAtKill === true || (followUp === 'cleanup_job' && phase.command === 'cleanup_job' && phase.retryPromotes === true);
      const e: Expectation = {
        runnerPod,
        before,
        head: promoted ? 'promoted' : before,
      };

      if (followUp === 'cleanup_job') {
        const cleanup = await runner.simulator.cleanupJob();
        expect(cleanup.ok, output(cleanup)).toBe(true);
        await settled('cleaned', runnerPod, cache, e);
      } else if (followUp === 'zfs-clone gc') {
        const gc = await world.cli('gc', cache);
        expect(gc.code, gc.err).toBe(0);
        const after = await world.inventory(runnerPod, cache);
        // Nothing of the job is collected while it is in flight or in use.
        const live = (inv: Inventory) =>
          [...inv.pvcs.map((p) => ({ ...p, kind: 'PVC' })), ...ownSnapshots(inv, runnerPod).map((x) => ({ ...x, kind: 'snapshot' }))]
            .filter((o) => !o.deleting)
            .map((o) => `${o.kind} ${o.name}`);
        expect(
          live(at).filter((o) => !live(after).includes(o)),
          gc.out,
        ).toEqual([]);
        await settled('gc right away', runnerPod, cache, e);
      }

      // ARC deletes the runner pod once the job is over (or once it died). The garbage collector
      // deletes what it owns; a job pod's container ignores SIGTERM and would use up its 30 s
      // grace, which the test does not wait out once the pod is being deleted.
      await runner.dispose();
      const marked = await waitFor(
        `the objects of runner pod ${runnerPod} being deleted`,
        () => world.inventory(runnerPod, cache),
        (inv) => inv.pods.every((p) => p.deleting) && inv.secrets.length === 0,
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      await Promise.all(
        marked.pods.map((p) => world.core.deleteNamespacedPod({ namespace: world.ns.name, name: p.name, gracePeriodSeconds: 0 }).catch(() => undefined)),
      );
      await settled('runner pod gone', runnerPod, cache, e);

      // The keep times run out; gc collects everything that is not a generation.
      await world.expireKept(cache);
      const gc = await world.cli('gc', cache, '--grace', '0');
      expect(gc.code, gc.err).toBe(0);
      const collected = await settled('collected', runnerPod, cache, e);
      rows.push({
        name,
        fired,
        seen: summarize(at, ctx),
        after: `nothing left; head at generation ${collected.head.generation}${promoted ? " (this job's snapshot)" : ''}, ready`,
      });
    }),
  );
});
