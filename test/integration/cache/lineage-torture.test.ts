/**
 * The lineage torture test: seeded random sequences of jobs that promote, fail (keeping their
 * clone or not), race and lose (keeping or dropping their snapshot), get SIGKILLed in cleanup_job
 * (then run again or abandoned), jobs overlapping a rollback, a gc or another job, gc over and over
 * during a promotion, a rollback racing gc, an operator promoting a snapshot a job left behind,
 * rollbacks and `zfs-clone gc` with random keep counts, on the zfs-like storage through the real
 * hook bundle. After every step:
 * - the head is what the model says (generation and snapshot) and a fresh clone of its snapshot
 *   holds exactly the marker files of its lineage;
 * - nothing is stuck pending (PVCs not bound, snapshots not ready, PVs failing to go);
 * - no more snapshots and clones are kept than the runners' caps allow;
 * - after a gc, the zfs-like driver holds no data of the namespace beyond what the keep policy
 *   allows (the kept generations, unexpired kept objects, what they depend on under ZFS rules), and
 *   nothing stays in its pending destroys;
 * every few steps and at the end every generation gc keeps is restored and checked too.
 *
 * The seed comes from `ZRH_TORTURE_SEED` (else random) and is printed; a failure names it and
 * the steps so far. Fixed seeds are regression cases of sequences that once broke an invariant.
 */
import type { HookCall } from '../../simulator/runner.js';
import { HookLines } from '../../simulator/hook-lines.js';
import type { StartedRunner } from '../../simulator/start.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../cluster/harness.js';
import { createCacheWorld, output, type CacheWorld } from './cache-fixtures.js';
import { dataBeyondPolicy, keptBeyondCaps, MARKER_DIR, restoreMarkers, stuckObjects } from './lineage-checks.js';
import { describeStep, drawStep, KILL_POINTS, LineageModel, prng, type Step } from './lineage-model.js';

const CACHE = 'conan';
const BUSYBOX = 'zrh.local/busybox:1';
/** The runners' own gc (at the end of cleanup_job) keeps this many generations. */
const HOOK_KEEP = 4;
/** The runners' caps on kept snapshots (per cache) and kept clones (per namespace). */
const CAPS = { snapshots: 2, clones: 2 };
const RUNNER_ENV = {
  ZFS_CLONE_KEEP_GENERATIONS: String(HOOK_KEEP),
  ZFS_CLONE_MAX_KEPT_SNAPSHOTS: String(CAPS.snapshots),
  ZFS_CLONE_MAX_KEPT_CLONES: String(CAPS.clones),
};
const STEPS = Number(process.env['ZRH_TORTURE_STEPS'] ?? 10);
/** Every generation gc keeps is restored after every this many steps (and at the end). */
const ALL_KEPT_EVERY = 4;
/**
 * Sequences that broke an invariant once, as steps (so that new kinds of steps do not change them),
 * with the seed that found them.
 */
const FIXED: readonly { readonly name: string; readonly found: number; readonly steps: readonly Step[] }[] = [
  {
    name: 'a rollback back to the abandoned head at the same time as gc --keep 1: gc deleted the snapshot the head had just moved to',
    found: 8,
    steps: [
      { kind: 'promote' },
      { kind: 'kill', at: 1, afterwards: 'abandon' },
      { kind: 'rollback-during-gc', keep: 1 },
      { kind: 'gc', keep: 1, expire: true },
    ],
  },
  {
    name: 'a cleanup_job SIGKILLed while its snapshot became ready, the runner pod gone with the clone, then an operator promoted the snapshot left behind: the head pointed at a snapshot ZFS had destroyed',
    found: 2425,
    steps: [{ kind: 'kill', at: 1, afterwards: 'abandon' }, { kind: 'promote' }, { kind: 'promote-by-hand', pick: 0 }, { kind: 'gc', keep: 4, expire: true }],
  },
];
const randomSeed = process.env['ZRH_TORTURE_SEED'] !== undefined ? Number(process.env['ZRH_TORTURE_SEED']) : Math.floor(Math.random() * 2 ** 31);

interface Job {
  readonly runner: StartedRunner;
  readonly marker: string;
  readonly lines: HookLines;
}

/** One torture run: its world, model, PRNG and the steps done so far. */
class Torture {
  readonly steps: string[] = [];
  readonly #known = new Set<string>();
  /** Snapshots jobs left behind (not promoted), with the snapshot they cloned and their marker. */
  readonly #leftBehind = new Map<string, { parent: string; marker: string }>();
  #jobs = 0;
  #model: LineageModel | undefined;

  constructor(
    readonly seed: number,
    readonly stepCount: number,
    readonly world: CacheWorld,
  ) {}

  get model(): LineageModel {
    if (!this.#model) throw new Error('not started');
    return this.#model;
  }

  /** The failure message: what broke, the seed and the steps so far. */
  why(what: string): string {
    return `${what}\n  seed ${this.seed} (ZRH_TORTURE_SEED=${this.seed} ZRH_TORTURE_STEPS=${this.stepCount}), steps so far:\n${this.steps.map((s, i) => `    ${i + 1}. ${s}`).join('\n')}`;
  }

  /** Runs `fixed` steps, or `stepCount` steps drawn from the seed and a last gc. */
  async run(fixed?: readonly Step[]): Promise<void> {
    const random = prng(this.seed);
    const seeded = await this.world.head(CACHE);
    this.#model = new LineageModel(seeded, HOOK_KEEP);
    await this.checkHead();
    if (fixed) {
      for (const [i, step] of fixed.entries()) await this.step(step, i === fixed.length - 1 || (i + 1) % ALL_KEPT_EVERY === 0);
      return;
    }
    for (let i = 0; i < this.stepCount; i++) await this.step(drawStep(random, this.model), (i + 1) % ALL_KEPT_EVERY === 0);
    await this.step({ kind: 'gc', keep: 1 + Math.floor(random() * 4), expire: true }, true);
  }

  async step(step: Step, allKept: boolean): Promise<void> {
    this.steps.push(describeStep(step));
    if (process.env['ZRH_TORTURE_VERBOSE']) console.log(`seed ${this.seed} step ${this.steps.length}: ${describeStep(step)}`);
    switch (step.kind) {
      case 'promote':
        await this.promoteJob();
        break;
      case 'fail':
        await this.failJob(step.keepClone);
        break;
      case 'race':
        await this.race(step.loser);
        break;
      case 'kill':
        await this.kill(step.at, step.afterwards);
        break;
      case 'rollback':
        await this.rollback(step.toGeneration);
        break;
      case 'gc':
        await this.gc(step.keep, step.expire);
        break;
      case 'overlap':
        await this.overlap(step.inner, step.keep, step.loser);
        break;
      case 'gc-during-promotion':
        await this.gcDuringPromotion(step.keep);
        break;
      case 'rollback-during-gc':
        await this.rollbackDuringGc(step.keep);
        break;
      case 'promote-by-hand':
        await this.promoteByHand(step.pick);
        break;
    }
    await this.checkHead();
    await this.checkNothingStuck();
    const beyond = await keptBeyondCaps(this.world, CACHE, CAPS);
    expect(beyond, this.why(`more is kept than the runners' caps allow:\n  ${beyond.join('\n  ')}`)).toEqual([]);
    if (allKept) await this.checkKept();
  }

  // ---- jobs ----

  async startJob(env: Record<string, string>): Promise<Job> {
    const lines = new HookLines();
    const runner = await this.world.runner({ runnerEnv: RUNNER_ENV, onOutput: lines.onOutput });
    const marker = `job-${++this.#jobs}`;
    const prepared = await runner.simulator.prepareJob({ image: BUSYBOX, env: { ZFS_CLONE_SOURCE: CACHE, ZFS_CLONE_PROMOTE: 'true', ...env } });
    expect(prepared.ok, this.why(`prepare_job of ${marker} failed:\n${output(prepared)}`)).toBe(true);
    const wrote = await runner.simulator.runScript(`mkdir -p "$CONAN_HOME/${MARKER_DIR}" && echo ${marker} > "$CONAN_HOME/${MARKER_DIR}/${marker}"\n`);
    expect(wrote.exitCode, this.why(`the step of ${marker} failed:\n${output(wrote)}`)).toBe(0);
    return { runner, marker, lines };
  }

  async cleanup(job: Job): Promise<HookCall> {
    const call = await job.runner.simulator.cleanupJob();
    expect(call.ok, this.why(`cleanup_job of ${job.marker} failed:\n${output(call)}`)).toBe(true);
    return call;
  }

  /** The runner pod goes (ARC deletes it after every job) and what it owned with it. */
  async finish(job: Job): Promise<void> {
    await job.runner.dispose();
    await waitFor(
      `runner ${job.runner.pod.name}'s pods and live clones gone`,
      () => this.world.inventory(job.runner.pod.name, CACHE),
      (inv) => inv.pods.length === 0 && inv.pvcs.every((p) => p.owners.every((o) => !o.startsWith('Pod/'))),
      { timeoutMs: 240_000, intervalMs: 500 },
    );
  }

  /** Expects the head to have moved to a snapshot of `job`, cloned from `parent`. */
  async expectPromoted(job: Job, call: HookCall | undefined, parent: string): Promise<void> {
    const head = await this.world.head(CACHE);
    const said = call ? `\ncleanup_job said:\n${output(call)}` : '';
    expect(
      head.generation,
      this.why(`${job.marker} should have promoted generation ${this.model.head.generation + 1}, the head is at ${head.generation}${said}`),
    ).toBe(this.model.head.generation + 1);
    this.model.promoted(head.snapshot, parent, job.marker);
  }

  async promoteJob(): Promise<void> {
    const parent = this.model.head.snapshot;
    const job = await this.startJob({});
    const call = await this.cleanup(job);
    await this.expectPromoted(job, call, parent);
    await this.finish(job);
  }

  async failJob(keepClone: boolean): Promise<void> {
    const job = await this.startJob(keepClone ? { ZFS_CLONE_KEEP_ON_FAILURE: 'true' } : {});
    const failed = await job.runner.simulator.runScript('exit 3\n');
    expect(failed.exitCode, this.why('the failing step did not fail')).toBe(3);
    await this.cleanup(job);
    await this.finish(job);
  }

  async race(loser: 'keep' | 'drop'): Promise<void> {
    const parent = this.model.head.snapshot;
    const first = await this.startJob({});
    const second = await this.startJob({ ZFS_CLONE_ON_CONFLICT: loser });
    const won = await this.cleanup(first);
    await this.expectPromoted(first, won, parent);
    const lost = await this.cleanup(second);
    expect(output(lost), this.why(`the loser ${second.marker} did not lose the race`)).toMatch(/moved (to generation \d+ since this job cloned|on meanwhile)/);
    await Promise.all([this.finish(first), this.finish(second)]);
    await this.recordLeftBehind(second, parent);
  }

  async kill(at: number, then: 'retry' | 'abandon'): Promise<void> {
    const parent = this.model.head.snapshot;
    const job = await this.startJob({});
    const point = KILL_POINTS[at] ?? KILL_POINTS[0];
    const armed = job.lines.first(point.line, () => job.runner.simulator.kill('SIGKILL'));
    const call = await job.runner.simulator.cleanupJob();
    armed.cancel();
    const killed = call.signal === 'SIGKILL';
    this.note(killed ? `cleanup_job killed on ${point.name}` : 'cleanup_job ended before the kill point');
    if (!killed) expect(call.ok, this.why(`cleanup_job of ${job.marker} (not killed) failed:\n${output(call)}`)).toBe(true);
    if (killed && then === 'retry') {
      const again = await this.cleanup(job);
      await this.expectPromoted(job, again, parent);
      await this.finish(job);
      return;
    }
    await this.finish(job);
    // Killed and abandoned: the head moved to this job's snapshot, or not at all.
    const head = await this.world.head(CACHE);
    if (!killed || head.generation !== this.model.head.generation) await this.expectPromoted(job, killed ? undefined : call, parent);
    else await this.recordLeftBehind(job, parent);
  }

  /** Remembers the snapshots `job` left (not the head, not being deleted). */
  async recordLeftBehind(job: Job, parent: string): Promise<void> {
    const inv = await this.world.inventory(job.runner.pod.name, CACHE);
    for (const snap of inv.snapshots) {
      if (snap.runnerPod === job.runner.pod.name && !snap.deleting && snap.name !== this.model.head.snapshot)
        this.#leftBehind.set(snap.name, { parent, marker: job.marker });
    }
  }

  async promoteByHand(pick: number): Promise<void> {
    const inv = await this.world.inventory('none', CACHE);
    const present = new Set(inv.snapshots.filter((s) => !s.deleting).map((s) => s.name));
    const candidates = [...this.#leftBehind.keys()].filter((name) => present.has(name)).sort();
    const snapshot = candidates[pick % Math.max(1, candidates.length)];
    if (snapshot === undefined) {
      this.note('no snapshot left behind to promote: a job promotes instead');
      await this.promoteJob();
      return;
    }
    const { parent, marker } = this.#leftBehind.get(snapshot) as { parent: string; marker: string };
    const result = await this.world.cli('promote', CACHE, snapshot, '--expect-generation', String(this.model.head.generation));
    this.note(`promote ${snapshot} by hand: exit ${result.code}\n${result.out}${result.err}`);
    if (result.code === 0) this.model.promoted(snapshot, parent, marker);
    else {
      // Refused only when the snapshot is unusable: its volume (and so, under ZFS, its data) is gone.
      expect(result.err, this.why(`zfs-clone promote ${snapshot} failed (${result.code}): ${result.err}`)).toMatch(/has lost its volume/);
      expect((await this.world.head(CACHE)).generation, this.why(`zfs-clone promote ${snapshot} failed but moved the head`)).toBe(this.model.head.generation);
    }
  }

  async overlap(inner: 'rollback' | 'gc' | 'promote' | 'fail', keep: number, loser: 'keep' | 'drop'): Promise<void> {
    const parent = this.model.head;
    const job = await this.startJob({ ZFS_CLONE_ON_CONFLICT: loser });
    if (inner === 'rollback') await this.rollback(undefined);
    else if (inner === 'gc') await this.gc(keep, true);
    else if (inner === 'promote') await this.promoteJob();
    else await this.failJob(true);
    const call = await this.cleanup(job);
    if (this.model.head.generation === parent.generation) await this.expectPromoted(job, call, parent.snapshot);
    else
      expect(output(call), this.why(`${job.marker} did not lose to the moved head:\n${output(call)}`)).toMatch(
        /moved (to generation \d+ since this job cloned|on meanwhile)/,
      );
    await this.finish(job);
  }

  async gcDuringPromotion(keep: number): Promise<void> {
    const parent = this.model.head.snapshot;
    const job = await this.startJob({});
    let cleaning = true;
    const runs: { code: number; out: string; err: string }[] = [];
    const collector = (async () => {
      while (cleaning) runs.push(await this.world.cli('gc', CACHE, '--keep', String(keep), '--grace', '0'));
    })();
    const call = await this.cleanup(job).finally(() => (cleaning = false));
    await collector;
    this.model.guaranteed = Math.min(this.model.guaranteed, keep);
    const failed = runs.filter((r) => r.code !== 0);
    this.note(`${runs.length} gc runs during the promotion, ${runs.reduce((n, r) => n + (r.out.match(/deleted/g)?.length ?? 0), 0)} deletions`);
    expect(
      failed.map((r) => r.err),
      this.why(`${failed.length} of ${runs.length} gc runs during the promotion failed`),
    ).toEqual([]);
    await this.expectPromoted(job, call, parent);
    await this.finish(job);
  }

  async rollbackDuringGc(keep: number): Promise<void> {
    const abandoned = this.model.head;
    await this.rollback(undefined);
    await this.world.expireKept(CACHE);
    const [gc, back] = await Promise.all([
      this.world.cli('gc', CACHE, '--keep', String(keep), '--grace', '0'),
      this.world.cli('rollback', CACHE, '--to-generation', String(abandoned.generation)),
    ]);
    this.model.guaranteed = Math.min(this.model.guaranteed, keep);
    const target = this.model.head.snapshot;
    if (back.code === 0) this.model.rolledBack(abandoned.snapshot);
    else {
      // gc got to the snapshot first: the rollback refuses it, or puts the head back at once.
      expect(back.err, this.why(`zfs-clone rollback --to-generation ${abandoned.generation} failed (${back.code}): ${back.err}`)).toMatch(
        /is being deleted|does not exist|was deleted/,
      );
      if ((await this.world.head(CACHE)).generation === this.model.head.generation + 2) {
        this.model.rolledBack(abandoned.snapshot);
        this.model.rolledBack(target);
      }
    }
    this.note(`rollback during gc: exit ${back.code} ${back.err}`);
    // gc may refuse a head that moved under it, but never leaves the head without its snapshot.
    if (gc.code !== 0) expect(gc.err, this.why(`gc during the rollback failed (${gc.code}): ${gc.err}`)).toMatch(/refused/);
    this.note(`gc during the rollback: exit ${gc.code}\n${gc.out}${gc.err}`);
  }

  note(text: string): void {
    if (process.env['ZRH_TORTURE_VERBOSE']) console.log(`seed ${this.seed}: ${text}`);
  }

  // ---- the CLI ----

  async rollback(toGeneration: number | undefined): Promise<void> {
    const target = toGeneration === undefined ? this.model.history[1] : this.model.history.find((g) => g.generation === toGeneration);
    const args = toGeneration === undefined ? [] : ['--to-generation', String(toGeneration)];
    const result = await this.world.cli('rollback', CACHE, ...args);
    expect(result.code, this.why(`zfs-clone rollback ${args.join(' ')} failed (${result.code}): ${result.err}`)).toBe(0);
    this.model.rolledBack(target?.snapshot ?? '?');
  }

  async gc(keep: number, expire: boolean): Promise<void> {
    if (expire) await this.world.expireKept(CACHE);
    const result = await this.world.cli('gc', CACHE, '--keep', String(keep), '--grace', '0');
    expect(result.code, this.why(`zfs-clone gc --keep ${keep} failed (${result.code}): ${result.err}\n${result.out}`)).toBe(0);
    this.model.guaranteed = Math.min(this.model.guaranteed, keep);
    const kept = this.model.lastDistinct(keep).map((g) => g.snapshot);
    let last: Awaited<ReturnType<typeof dataBeyondPolicy>> | undefined;
    try {
      await waitFor(
        'the driver to hold only what the keep policy allows',
        async () => (last = await dataBeyondPolicy(this.world, kept, this.#known)),
        (d) => d.extra.length === 0 && d.data.pending.length === 0,
        {
          timeoutMs: 240_000,
          intervalMs: 500,
        },
      );
    } catch {
      expect.fail(
        this.why(
          `after gc --keep ${keep} the zfs-like driver holds data of the namespace beyond the keep policy (kept generations ${kept.join(', ')}):\n` +
            `  beyond: ${last?.extra.join('; ') || 'nothing'}\n  pending destroys: ${last?.data.pending.join('; ') || 'none'}\n` +
            `gc said:\n${result.out}${result.err}`,
        ),
      );
    }
  }

  // ---- invariants ----

  async checkHead(): Promise<void> {
    const head = await this.world.head(CACHE);
    const { generation, snapshot } = this.model.head;
    expect(head, this.why(`the head is generation ${head.generation} (${head.snapshot}), the model says ${generation} (${snapshot})`)).toEqual({
      generation,
      snapshot,
    });
    await this.checkRestores([this.model.head]);
  }

  async checkKept(): Promise<void> {
    await this.checkRestores(this.model.kept());
  }

  async checkRestores(generations: readonly { generation: number; snapshot: string }[]): Promise<void> {
    let found: Awaited<ReturnType<typeof restoreMarkers>> = new Map();
    try {
      found = await restoreMarkers(
        this.world,
        generations.map((g) => g.snapshot),
      );
    } catch (error) {
      const which = generations.map((g) => `generation ${g.generation} (${g.snapshot})`).join(', ');
      expect.fail(this.why(`restoring ${which} failed: ${error instanceof Error ? error.message : String(error)}`));
    }
    for (const g of generations) {
      const markers = found.get(g.snapshot);
      const expected = this.model.markersOf(g.snapshot);
      expect(
        markers,
        this.why(`generation ${g.generation} (${g.snapshot}) restored to ${JSON.stringify(markers)}, expected the markers ${JSON.stringify(expected)}`),
      ).toEqual(expected);
    }
  }

  async checkNothingStuck(): Promise<void> {
    let last: string[] = [];
    try {
      await waitFor(
        'nothing stuck pending',
        async () => (last = await stuckObjects(this.world)),
        (p) => p.length === 0,
        { timeoutMs: 240_000, intervalMs: 1000 },
      );
    } catch {
      expect.fail(this.why(`objects stay pending:\n  ${last.join('\n  ')}`));
    }
  }
}

describe('the cache lineage under seeded random jobs, rollbacks and gc', () => {
  // ZRH_TORTURE_SEED replays that one sequence; otherwise the fixed ones and a random one.
  const given = process.env['ZRH_TORTURE_SEED'] !== undefined;
  const cases = [
    ...(given ? [] : FIXED.map((f) => ({ title: `fixed: ${f.name} (seed ${f.found})`, seed: f.found, steps: f.steps.length, fixed: f.steps }))),
    { title: `${given ? 'given' : 'random'} seed ${randomSeed}, ${STEPS} steps`, seed: randomSeed, steps: STEPS, fixed: undefined },
  ];

  describe.each(cases)('$title', ({ seed, steps, fixed }) => {
    let world: CacheWorld;
    beforeAll(async () => {
      world = await createCacheWorld(`torture-${seed % 100000}`, CACHE);
    });
    afterAll(async () => {
      await world?.dispose();
    });

    it("keeps the head and every kept generation restorable with their lineage's markers, nothing pending, no data beyond the keep policy", async () => {
      console.log(`lineage torture: seed ${seed} (ZRH_TORTURE_SEED=${seed} ZRH_TORTURE_STEPS=${steps})${fixed ? ', fixed steps' : ''}`);
      const torture = new Torture(seed, steps, world);
      await torture.run(fixed);
      console.log(`lineage torture: seed ${seed} passed:\n${torture.steps.map((s, i) => `  ${i + 1}. ${s}`).join('\n')}`);
    }, 900_000);
  });
});
