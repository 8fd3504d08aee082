import type { V1OwnerReference } from '@kubernetes/client-node';
import { MANAGED_BY, MANAGED_BY_LABEL, ownerReference, podOwner, ROLE_LABEL, RUNNER_POD_LABEL } from '@zfs-runner-hooks/vocabulary';

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
  return ownerReference(podOwner(runner.name, runner.uid));
}
