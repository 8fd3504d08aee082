import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';

/** Waiting reasons that will not resolve on their own. */
export const FATAL_WAITING_REASONS: ReadonlySet<string> = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** Where a pod stands with respect to what we wait for. */
export type PodOutcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'pending'; readonly progress: string; readonly unschedulable?: string }
  | { readonly kind: 'failed'; readonly reason: string };

/** What to wait for. */
export type PodGoal =
  /** All containers running and the pod Ready. */
  | { readonly kind: 'ready' }
  /** One container (init or regular) running. */
  | { readonly kind: 'running'; readonly container: string }
  /** One container running or already terminated. */
  | { readonly kind: 'started'; readonly container: string }
  /** One container terminated (with any exit code). */
  | { readonly kind: 'terminated'; readonly container: string };

function statuses(pod: V1Pod): V1ContainerStatus[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
}

function describeTerminated(s: V1ContainerStatus): string | undefined {
  const t = s.state?.terminated;
  if (!t) return undefined;
  return `container "${s.name}" exited with code ${t.exitCode}${t.reason ? ` (${t.reason}${t.message ? `: ${t.message}` : ''})` : ''}`;
}

/**
 * Judges a pod against a goal: done, still pending (with a progress line such as
 * `Pending: job ContainerCreating`), or failed with the reason a user needs (image pull errors,
 * config errors, the scheduler's message, a container that exited).
 */
export function assessPod(pod: V1Pod, goal: PodGoal): PodOutcome {
  const all = statuses(pod);
  const target = goal.kind === 'ready' ? undefined : all.find((s) => s.name === goal.container);
  if (goal.kind === 'terminated' && target?.state?.terminated) return { kind: 'done' };
  if (goal.kind === 'running' && target?.state?.running) return { kind: 'done' };
  if (goal.kind === 'started' && (target?.state?.running || target?.state?.terminated)) return { kind: 'done' };

  for (const s of all) {
    const w = s.state?.waiting;
    if (w?.reason && FATAL_WAITING_REASONS.has(w.reason)) {
      return { kind: 'failed', reason: `container "${s.name}" (${s.image}): ${w.reason}${w.message ? `: ${w.message}` : ''}` };
    }
  }
  const regular = new Set((pod.spec?.containers ?? []).map((c) => c.name));
  for (const s of all) {
    if (goal.kind !== 'terminated' && goal.kind !== 'started' && regular.has(s.name)) {
      const t = describeTerminated(s);
      if (t) return { kind: 'failed', reason: t };
    }
    const init = s.state?.terminated;
    if (!regular.has(s.name) && init && init.exitCode !== 0 && !(goal.kind === 'running' && s.name === goal.container)) {
      return { kind: 'failed', reason: `init ${describeTerminated(s) ?? s.name}` };
    }
  }
  const phase = pod.status?.phase ?? 'Pending';
  if (phase === 'Failed' || phase === 'Succeeded') {
    if (goal.kind === 'terminated' || goal.kind === 'started') return { kind: 'done' };
    const why = [pod.status?.reason, pod.status?.message].filter(Boolean).join(': ');
    return { kind: 'failed', reason: `pod ${phase.toLowerCase()}${why ? ` (${why})` : ''}` };
  }
  if (goal.kind === 'ready' && phase === 'Running' && pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) {
    return { kind: 'done' };
  }

  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    const msg = scheduled.message ?? 'no node fits the pod';
    return { kind: 'pending', progress: `Pending: unschedulable: ${msg}`, unschedulable: msg };
  }
  const waiting = all
    .filter((s) => s.state?.waiting?.reason)
    .map((s) => `${s.name} ${s.state?.waiting?.reason}`)
    .join(', ');
  const notReady = phase === 'Running' ? all.filter((s) => regular.has(s.name) && !s.ready).map((s) => s.name) : [];
  const detail = waiting || (notReady.length ? `waiting for ${notReady.join(', ')} to be ready` : scheduled?.status === 'True' ? 'scheduled' : '');
  return { kind: 'pending', progress: `${phase}${detail ? `: ${detail}` : ''}` };
}
