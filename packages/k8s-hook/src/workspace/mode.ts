import { posix } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { WorkspaceMode } from '../protocol/state.js';
import { relativeInside } from './paths.js';

/** The outcome of choosing how `_work` reaches the job pod. */
export interface WorkspaceChoice {
  readonly mode: WorkspaceMode;
  /** Why this mode, for the log. */
  readonly reason: string;
  /** volume mode: the claim holding `_work`, and `_work`'s directory inside it (`''` = root). */
  readonly claimName?: string;
  readonly claimSubPath?: string;
  /** Access modes when known from the pod spec (ephemeral claims); undefined = look it up. */
  readonly accessModes?: readonly string[];
}

/** Inputs of `chooseWorkspaceMode`. */
export interface WorkspaceModeInput {
  readonly runnerPod: V1Pod;
  readonly workDir: string;
  readonly configured: 'auto' | 'volume' | 'copy';
  /** ACTIONS_RUNNER_CLAIM_NAME. */
  readonly claimOverride?: string;
}

/**
 * Picks the workspace mode. `auto`: `volume` when the volume mounted over the runner's `_work`
 * (the deepest mount at or above it, in any container of the runner pod) is a PVC or an ephemeral
 * claim, else `copy`. An explicit `volume` needs a claim (found or ACTIONS_RUNNER_CLAIM_NAME,
 * whose root is then `_work`).
 */
export function chooseWorkspaceMode(input: WorkspaceModeInput): WorkspaceChoice {
  const { runnerPod, workDir, configured, claimOverride } = input;
  const podName = runnerPod.metadata?.name ?? '';
  let best: { mountPath: string; volume: string; subPath: string } | undefined;
  for (const c of runnerPod.spec?.containers ?? []) {
    for (const m of c.volumeMounts ?? []) {
      const rel = relativeInside(m.mountPath, workDir);
      if (rel === undefined) continue;
      if (!best || m.mountPath.length > best.mountPath.length) {
        best = { mountPath: m.mountPath, volume: m.name, subPath: posix.join(m.subPath ?? '', rel).replace(/^\.$/, '') };
      }
    }
  }
  const volume = best && runnerPod.spec?.volumes?.find((v) => v.name === best.volume);
  let claim: { name: string; accessModes?: readonly string[] } | undefined;
  if (volume?.persistentVolumeClaim) claim = { name: volume.persistentVolumeClaim.claimName };
  else if (volume?.ephemeral) {
    claim = { name: `${podName}-${volume.name}` };
    const modes = volume.ephemeral.volumeClaimTemplate?.spec?.accessModes;
    if (modes) claim.accessModes = modes;
  }

  if (configured === 'copy') return { mode: 'copy', reason: 'ZRH_WORKSPACE_MODE=copy' };
  if (claimOverride) {
    const fromPod = claim?.name === claimOverride;
    return {
      mode: 'volume',
      reason: `ACTIONS_RUNNER_CLAIM_NAME=${claimOverride}`,
      claimName: claimOverride,
      claimSubPath: fromPod && best ? best.subPath : '',
      ...(fromPod && claim?.accessModes ? { accessModes: claim.accessModes } : {}),
    };
  }
  if (claim?.accessModes?.includes('ReadWriteOncePod') && configured === 'auto') {
    return { mode: 'copy', reason: `claim "${claim.name}" is ReadWriteOncePod and cannot be shared with the job pod` };
  }
  if (claim && best) {
    return {
      mode: 'volume',
      reason: `${workDir} is on claim "${claim.name}"${configured === 'volume' ? ' (ZRH_WORKSPACE_MODE=volume)' : ''}`,
      claimName: claim.name,
      claimSubPath: best.subPath,
      ...(claim.accessModes ? { accessModes: claim.accessModes } : {}),
    };
  }
  if (configured === 'volume') {
    return { mode: 'volume', reason: 'ZRH_WORKSPACE_MODE=volume', claimName: `${podName}-work`, claimSubPath: '' };
  }
  return { mode: 'copy', reason: `${workDir} is not on a persistent volume claim in the runner pod` };
}

/** Whether a claim with these access modes can only be mounted on one node at a time. */
export function isSingleNode(accessModes: readonly string[] | undefined): boolean {
  if (!accessModes || accessModes.length === 0) return true;
  return !accessModes.some((m) => m === 'ReadWriteMany' || m === 'ReadOnlyMany');
}
