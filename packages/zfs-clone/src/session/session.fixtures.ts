import { NS } from '../ops/ops.fixtures.js';
import type { FakeKube } from '../ops/fake-kube.fixtures.js';
import { createCacheSession } from './cache-session.js';
import type { CacheLogger } from './logger.js';

/** The hook's environment for a push to main of acme/app, which the runner binds to cache gcc12. */
export const mainPush = {
  GITHUB_REF: 'refs/heads/main',
  GITHUB_EVENT_NAME: 'push',
  GITHUB_REPOSITORY: 'acme/app',
  ZFS_CLONE_CACHE_REPOSITORIES: 'gcc12=acme/app',
};

/** The sessions' clock unless a test needs the wall clock (the fake stamps objects with it). */
export const NOW = new Date('2025-06-01T00:00:00Z');

/** A logger that keeps `info: …` and `warning: …` lines. */
export function recordingLogger() {
  const lines: string[] = [];
  const logger: CacheLogger = {
    info: (m) => lines.push(`info: ${m}`),
    warning: (m) => lines.push(`warning: ${m}`),
    debug: () => undefined,
    group: (_n, fn) => fn(),
  };
  return { lines, logger };
}

/** A cache session of runner pod `runner` whose hook environment is `runnerEnv`. */
export function session(fake: FakeKube, runnerEnv: Record<string, string> = mainPush, runner = 'runner-1', now: () => Date = () => NOW) {
  const { lines, logger } = recordingLogger();
  return { lines, s: createCacheSession({ kube: fake, namespace: NS, runnerPod: { name: runner, uid: `uid-${runner}` }, runnerEnv, logger, now }) };
}

/** A job prepared by runner pod `runner` with `env` as `container.env`, its pod created. */
export async function job(fake: FakeKube, env: Record<string, string>, runner: string, runnerEnv: Record<string, string> = mainPush, now?: () => Date) {
  const { s, lines } = session(fake, runnerEnv, runner, now);
  const prepared = await s.prepare(env);
  if (!prepared) throw new Error('no clone');
  const state = await s.onPodCreated(prepared.state, { name: `${runner}-job`, uid: `uid-${runner}-job` });
  return { s, lines, state };
}

/** Names of the clone PVCs (all but the seed's). */
export const pvcs = (fake: FakeKube) =>
  fake
    .all('persistentvolumeclaims')
    .map((p) => p.metadata?.name)
    .filter((n) => n !== 'golden');

/** Names of the VolumeSnapshots other than the seed's. */
export const snapshots = (fake: FakeKube) =>
  fake
    .all('volumesnapshots')
    .map((s) => s.metadata?.name)
    .filter((n) => n !== 'gcc12-g1');
