import { appendFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

/** One figure a benchmark measured, as run-all.sh tabulates it. */
export interface Figure {
  readonly bench: string;
  readonly figure: string;
  /** Human-readable value, e.g. `41.2 ms` or `1.93×`. */
  readonly value: string;
  /** The target, e.g. `≤ 2.5×`; empty when the figure is informational. */
  readonly target: string;
  /** Whether the target is met; null when there is none. */
  readonly ok: boolean | null;
}

/**
 * Prints a figure (`  figure: value  [target …: ✓/✗]`) and, when `ZRH_BENCH_RESULTS` names a
 * file, appends it there as one JSON line for the summary table of `bench/run-all.sh`.
 */
export function report(figure: Figure): void {
  const target = figure.target ? `   [target ${figure.target}: ${figure.ok === null ? '–' : figure.ok ? '✓' : '✗'}]` : '';
  console.log(`  ${figure.figure}: ${figure.value}${target}`);
  const file = process.env['ZRH_BENCH_RESULTS'];
  if (file) appendFileSync(file, `${JSON.stringify(figure)}\n`);
}

/** A section heading. */
export function heading(text: string): void {
  console.log(`\n== ${text}`);
}

/** A plain line of context. */
export function note(text: string): void {
  console.log(`  ${text}`);
}

/** `2 cores, load average 7.66 6.12 5.26` — how busy the machine was. */
export function machineLoad(): string {
  return `${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
}

/**
 * Runs a benchmark's `main`; a failure is printed as `<bench> failed: <message>` with exit code 1.
 * With `deadlineMs`, a benchmark still running then gives up with exit code 2.
 */
export function runBench(bench: string, main: () => Promise<void>, deadlineMs?: number): void {
  const deadline =
    deadlineMs === undefined
      ? undefined
      : setTimeout(() => {
          process.stderr.write(`${bench}: gave up after ${deadlineMs / 60_000} min\n`);
          process.exit(2);
        }, deadlineMs).unref();
  main()
    .catch((error: unknown) => {
      process.stderr.write(`${bench} failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    })
    .finally(() => clearTimeout(deadline));
}
