/**
 * The lineage torture test's pure half: a seeded PRNG, the random steps it draws, and the model of
 * what a cache lineage should be after each step (which snapshot each generation points at and
 * which marker files a clone of it holds). No I/O.
 */

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Where a killed cleanup_job dies: the first line of the hook that matches. */
export const KILL_POINTS = [
  { name: 'before the cache is cleaned up', line: /^::group::Build cache/ },
  { name: 'while the snapshot becomes ready', line: /snapshot created, waiting until ready/ },
  { name: 'snapshot ready, before the head moves', line: /^Snapshot \S+ of the clone is ready/ },
  { name: 'after the head moved', line: /^Cache \S+ now at generation/ },
] as const;

/** One step of a torture sequence. */
export type Step =
  /** A job that succeeds and promotes (it wins: no one else cloned its generation). */
  | { readonly kind: 'promote' }
  /** A promoting job whose step fails: no promotion; `keepClone` keeps its clone for inspection. */
  | { readonly kind: 'fail'; readonly keepClone: boolean }
  /** Two jobs clone one generation; the first to clean up promotes, the other loses and keeps or drops its snapshot. */
  | { readonly kind: 'race'; readonly loser: 'keep' | 'drop' }
  /** A promoting job whose cleanup_job is SIGKILLed at `at`, then run again (`retry`) or abandoned (the runner pod goes). */
  | { readonly kind: 'kill'; readonly at: number; readonly afterwards: 'retry' | 'abandon' }
  /** `zfs-clone rollback --to-generation <n>` (a generation the keep policy guarantees), or to the one before the head. */
  | { readonly kind: 'rollback'; readonly toGeneration: number | undefined }
  /** `zfs-clone gc --keep <keep> --grace 0`, after letting every keep time run out when `expire`. */
  | { readonly kind: 'gc'; readonly keep: number; readonly expire: boolean }
  /**
   * A promoting job clones the head, then `inner` happens (a rollback to the generation before,
   * a gc, another job promoting or failing and keeping its clone), then the job cleans up: it
   * promotes if the head has not moved, else it loses and keeps or drops its snapshot.
   */
  | { readonly kind: 'overlap'; readonly inner: 'rollback' | 'gc' | 'promote' | 'fail'; readonly keep: number; readonly loser: 'keep' | 'drop' }
  /** `zfs-clone gc --keep <keep> --grace 0` over and over while a job's cleanup_job promotes. */
  | { readonly kind: 'gc-during-promotion'; readonly keep: number }
  /**
   * A rollback to the generation before the head, then, at the same time, a rollback back to the
   * abandoned head and `zfs-clone gc --keep <keep> --grace 0` (which, reading the head before the
   * second rollback, sees the abandoned head as garbage).
   */
  | { readonly kind: 'rollback-during-gc'; readonly keep: number }
  /** `zfs-clone promote <cache> <snapshot>` of a snapshot a job left (a race lost with keep, an abandoned kill): the `pick`th of them. */
  | { readonly kind: 'promote-by-hand'; readonly pick: number };

/** A step as the failure messages list it. */
export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'promote':
      return 'a job promotes';
    case 'fail':
      return `a job fails${step.keepClone ? ' and keeps its clone' : ''}`;
    case 'race':
      return `two jobs race to promote, the loser ${step.loser}s its snapshot`;
    case 'kill':
      return `a promoting job's cleanup_job is SIGKILLed ${KILL_POINTS[step.at]?.name ?? '?'}, then ${step.afterwards === 'retry' ? 'run again' : 'abandoned'}`;
    case 'rollback':
      return step.toGeneration === undefined ? 'rollback to the generation before the head' : `rollback to generation ${step.toGeneration}`;
    case 'gc':
      return `gc --keep ${step.keep}${step.expire ? ' after the keep times ran out' : ''}`;
    case 'overlap': {
      const inner = {
        rollback: 'a rollback to the generation before',
        gc: `gc --keep ${step.keep} after the keep times ran out`,
        promote: 'another job promotes',
        fail: 'another job fails and keeps its clone',
      }[step.inner];
      return `a promoting job clones the head, ${inner}, then the job cleans up (${step.loser} on conflict)`;
    }
    case 'gc-during-promotion':
      return `gc --keep ${step.keep} --grace 0 runs over and over while a job promotes`;
    case 'promote-by-hand':
      return `an operator promotes a snapshot a job left behind (pick ${step.pick})`;
    case 'rollback-during-gc':
      return `rollback to the generation before the head, then a rollback back to it at the same time as gc --keep ${step.keep} after the keep times ran out`;
  }
}

/** One generation of the model: a head history entry. */
export interface Generation {
  readonly generation: number;
  readonly snapshot: string;
}

/**
 * The lineage as it should be: the head's history (newest first), the marker files each snapshot
 * holds, and the smallest keep count any gc has used (generations beyond it may be gone).
 */
export class LineageModel {
  readonly history: Generation[];
  readonly #markers = new Map<string, readonly string[]>();
  /** Smallest keep count of every gc so far (the hook's own gc included). */
  guaranteed: number;

  constructor(seed: Generation, hookKeep: number) {
    this.history = [seed];
    this.#markers.set(seed.snapshot, []);
    this.guaranteed = hookKeep;
  }

  get head(): Generation {
    return this.history[0] as Generation;
  }

  /** Marker files a clone of `snapshot` holds. */
  markersOf(snapshot: string): readonly string[] {
    const m = this.#markers.get(snapshot);
    if (!m) throw new Error(`the model knows no snapshot ${snapshot}`);
    return m;
  }

  /** A job that cloned `parent` and wrote `marker` promoted its snapshot. */
  promoted(snapshot: string, parent: string, marker: string): void {
    this.#markers.set(snapshot, [...this.markersOf(parent), marker].sort());
    this.history.unshift({ generation: this.head.generation + 1, snapshot });
  }

  /** The head was rolled back to `snapshot` (a new generation). */
  rolledBack(snapshot: string): void {
    this.markersOf(snapshot);
    this.history.unshift({ generation: this.head.generation + 1, snapshot });
  }

  /** The last `n` distinct snapshots of the history, newest first, with their newest generation. */
  lastDistinct(n: number): Generation[] {
    const out: Generation[] = [];
    for (const g of this.history) {
      if (out.length >= Math.max(1, n)) break;
      if (!out.some((o) => o.snapshot === g.snapshot)) out.push(g);
    }
    return out;
  }

  /** Generations that every gc so far had to keep: they must still be restorable. */
  kept(): Generation[] {
    return this.lastDistinct(this.guaranteed);
  }
}

/** Draws the next step from `random`, given the model (rollback targets are kept generations). */
export function drawStep(random: () => number, model: LineageModel): Step {
  const r = random();
  if (r < 0.2) return { kind: 'promote' };
  if (r < 0.3) return { kind: 'fail', keepClone: random() < 0.5 };
  if (r < 0.4) return { kind: 'race', loser: random() < 0.5 ? 'keep' : 'drop' };
  if (r < 0.5) {
    const inner = (['rollback', 'gc', 'promote', 'fail'] as const)[Math.floor(random() * 4)] ?? 'gc';
    const canRollBack =
      model.history[1] !== undefined && model.kept().some((g) => g.snapshot === model.history[1]?.snapshot && g.snapshot !== model.head.snapshot);
    return {
      kind: 'overlap',
      inner: inner === 'rollback' && !canRollBack ? 'gc' : inner,
      keep: 1 + Math.floor(random() * 4),
      loser: random() < 0.5 ? 'keep' : 'drop',
    };
  }
  if (r < 0.55) return { kind: 'gc-during-promotion', keep: 1 + Math.floor(random() * 4) };
  if (r < 0.6) {
    const keep = 1 + Math.floor(random() * 2);
    if (model.history[1] && model.kept().some((g) => g.snapshot === model.history[1]?.snapshot && g.snapshot !== model.head.snapshot))
      return { kind: 'rollback-during-gc', keep };
    return { kind: 'promote' };
  }
  if (r < 0.64) return { kind: 'promote-by-hand', pick: Math.floor(random() * 4) };
  if (r < 0.7) return { kind: 'kill', at: Math.floor(random() * KILL_POINTS.length), afterwards: random() < 0.5 ? 'retry' : 'abandon' };
  if (r < 0.82) {
    const targets = model.kept().filter((g) => g.snapshot !== model.head.snapshot);
    if (targets.length === 0) return { kind: 'promote' };
    const pick = random();
    if (pick < 0.3 && model.history[1] && targets.some((t) => t.snapshot === model.history[1]?.snapshot)) return { kind: 'rollback', toGeneration: undefined };
    return { kind: 'rollback', toGeneration: (targets[Math.floor(pick * targets.length)] as Generation).generation };
  }
  return { kind: 'gc', keep: 1 + Math.floor(random() * 4), expire: random() < 0.5 };
}
