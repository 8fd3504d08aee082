import type { Writable } from 'node:stream';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import type { JobCache } from '../cache.js';
import type { HookConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { JobStateStore } from '../protocol/state-store.js';

/** Everything a command needs, built once in `main` (or by a test). */
export interface CommandContext {
  readonly client: KubeClient;
  readonly config: HookConfig;
  readonly log: Logger;
  /** Aborted on SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  /** The build-cache collaborator; absent = no cache support. */
  readonly cache?: JobCache | undefined;
  /** Seals the job state the hook hands out and verifies the one the runner passes back. */
  readonly states: JobStateStore;
  /** The hook process environment (handed to the cache). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The node binary running the hook (`<externals>/node20/bin/node`). */
  readonly nodeExecPath: string;
  /** A fresh random seed for object names. */
  readonly newSeed: () => string;
  /** Where step output goes (the runner's step log). */
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/** The namespace the job lives in. */
export function jobNamespace(ctx: CommandContext): string {
  return ctx.config.namespace ?? ctx.client.defaultNamespace;
}
