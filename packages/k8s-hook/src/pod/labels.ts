import type { V1OwnerReference } from '@kubernetes/client-node';

/** The label ARC's garbage collection uses to delete a runner's pods and secrets. */
export const RUNNER_POD_LABEL = 'runner-pod';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'zfs-runner-hooks';
/** The prefix of label keys only the hook sets. */
export const HOOK_LABEL_PREFIX = 'zrh.dev/';
export const ROLE_LABEL = `${HOOK_LABEL_PREFIX}role`;
/** The label keys `hookLabels` sets; they win over the template's and the workflow's labels. */
export const HOOK_LABEL_KEYS: readonly string[] = [RUNNER_POD_LABEL, MANAGED_BY_LABEL, ROLE_LABEL];

/** What an object is for. */
export type ObjectRole = 'job' | 'step' | 'registry' | 'step-env';

/** Labels of every object the hook creates for a runner pod. */
export function hookLabels(runnerPodName: string, role: ObjectRole): Record<string, string> {
  return { [RUNNER_POD_LABEL]: runnerPodName, [MANAGED_BY_LABEL]: MANAGED_BY, [ROLE_LABEL]: role };
}

/** Selects everything the hook created for `runnerPodName`. */
export function hookSelector(runnerPodName: string): string {
  return `${RUNNER_POD_LABEL}=${runnerPodName},${MANAGED_BY_LABEL}=${MANAGED_BY}`;
}

/** The runner pod, as the owner of everything a job creates. */
export interface RunnerPodRef {
  readonly name: string;
  readonly uid: string;
}

/** An ownerReference to the runner pod, so deleting it garbage-collects the job's objects. */
export function runnerOwnerReference(runner: RunnerPodRef): V1OwnerReference {
  return { apiVersion: 'v1', kind: 'Pod', name: runner.name, uid: runner.uid };
}
