import type { Writable } from 'node:stream';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import { toYaml } from './yaml.js';

export { UsageError } from './args.js';

/** What a command runs with; tests pass a fake client and buffers. */
export interface CliContext {
  readonly kube: KubeClient;
  readonly namespace: string;
  readonly output: 'table' | 'json' | 'yaml';
  readonly stdout: Writable;
  /** Progress and warnings. */
  readonly stderr: Writable;
  /** Progress lines on long waits: on when stderr is a terminal. */
  readonly showProgress: boolean;
  readonly now: () => Date;
}

/** Writes `value` as indented JSON (`-o json`) or YAML (`-o yaml`). */
export function printJson(ctx: CliContext, value: unknown): void {
  ctx.stdout.write(ctx.output === 'yaml' ? toYaml(value) : `${JSON.stringify(value, null, 2)}\n`);
}

/** Whether the command prints structured data (`-o json|yaml`) rather than a table. */
export function structured(ctx: CliContext): boolean {
  return ctx.output !== 'table';
}

/** A progress line on stderr, prefixed with the elapsed seconds; nothing when stderr is not a terminal. */
export function progress(ctx: CliContext, started: number): (line: string) => void {
  if (!ctx.showProgress) return () => {};
  return (line) => ctx.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
}
