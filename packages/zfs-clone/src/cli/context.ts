import type { Writable } from 'node:stream';
import type { KubeClient } from '@zfs-runner-hooks/kube';

/** What a command runs with; tests pass a fake client and buffers. */
export interface CliContext {
  readonly kube: KubeClient;
  readonly namespace: string;
  readonly output: 'table' | 'json';
  readonly stdout: Writable;
  /** Progress and warnings. */
  readonly stderr: Writable;
  readonly now: () => Date;
}

/** Wrong arguments: exit code 2 with the usage text. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Writes `value` as indented JSON. */
export function printJson(ctx: CliContext, value: unknown): void {
  ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A progress line on stderr, prefixed with the elapsed seconds. */
export function progress(ctx: CliContext, started: number): (line: string) => void {
  return (line) => ctx.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
}
