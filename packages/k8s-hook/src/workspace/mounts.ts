import { posix } from 'node:path';
import type { V1NodeSelectorTerm, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { MountVolume } from '../protocol/input.js';
import { CONTAINER_EXTERNALS, CONTAINER_WORK, EXTERNALS_REL, GITHUB_HOME_REL, GITHUB_WORKFLOW_REL, relativeInside } from './paths.js';

/** The name of the pod volume that holds `_work`. */
export const WORK_VOLUME = 'work';

/** Volumes, mounts and placement a pod needs for the workspace. */
export interface PodWorkspace {
  readonly volumes: V1Volume[];
  readonly mounts: V1VolumeMount[];
  /** A required node-affinity term (volume mode, single-node claims). */
  readonly nodeTerm?: V1NodeSelectorTerm;
}

/**
 * The part of a job's workspace state that decides what its pods mount. The claim decides: a
 * mode that shares `_work` through a claim records it, and pods mount it at `claimSubPath`;
 * without one, each pod gets an emptyDir its mode fills.
 */
export interface WorkspaceFacts {
  readonly claimName?: string | undefined;
  readonly claimSubPath?: string | undefined;
  /** Set when pods must run on this node (a single-node claim). */
  readonly pinnedNode?: string | undefined;
}

function workVolume(ws: WorkspaceFacts): V1Volume {
  if (ws.claimName !== undefined) return { name: WORK_VOLUME, persistentVolumeClaim: { claimName: ws.claimName } };
  return { name: WORK_VOLUME, emptyDir: {} };
}

function subPath(ws: WorkspaceFacts, rel: string): string {
  return posix.join(ws.claimName !== undefined ? (ws.claimSubPath ?? '') : '', rel).replace(/^\.$/, '');
}

function mount(ws: WorkspaceFacts, mountPath: string, rel: string, readOnly = false): V1VolumeMount {
  const sp = subPath(ws, rel);
  return { name: WORK_VOLUME, mountPath, ...(sp ? { subPath: sp } : {}), ...(readOnly ? { readOnly } : {}) };
}

function nodeTerm(ws: WorkspaceFacts): V1NodeSelectorTerm | undefined {
  if (!ws.pinnedNode) return undefined;
  return { matchFields: [{ key: 'metadata.name', operator: 'In', values: [ws.pinnedNode] }] };
}

/**
 * The job container's view of the runner: `_work` at `/__w`, externals at `/__e` (read-only),
 * `/github/home` and `/github/workflow`: subPaths of the work claim (volume mode), or of an emptyDir
 * with the same layout (copy mode).
 */
export function jobPodWorkspace(ws: WorkspaceFacts): PodWorkspace {
  const term = nodeTerm(ws);
  return {
    volumes: [workVolume(ws)],
    mounts: [
      mount(ws, CONTAINER_WORK, ''),
      mount(ws, CONTAINER_EXTERNALS, EXTERNALS_REL, true),
      mount(ws, '/github/home', GITHUB_HOME_REL),
      mount(ws, '/github/workflow', GITHUB_WORKFLOW_REL),
    ],
    ...(term ? { nodeTerm: term } : {}),
  };
}

/** One runner mount of a container step, resolved against `_work`. */
export interface StepMount {
  readonly target: string;
  /** Path inside `_work` (externals map to `_externals/…`). */
  readonly rel: string;
  readonly readOnly: boolean;
}

/** The result of resolving a container step's mounts. */
export interface StepMountPlan {
  readonly mounts: readonly StepMount[];
  /** Mounts that cannot be honoured (outside `_work` and externals), with the reason. */
  readonly skipped: readonly string[];
}

/**
 * Resolves the runner's mounts of a container step (`/github/workspace`, `/github/home`, …) to
 * paths inside `_work`. docker.sock and other paths outside `_work` are skipped and reported.
 */
export function planStepMounts(volumes: readonly MountVolume[], dirs: { readonly workDir: string; readonly externalsDir: string }): StepMountPlan {
  const mounts: StepMount[] = [];
  const skipped: string[] = [];
  for (const v of volumes) {
    const source = v.sourceVolumePath ?? v.userProvidedValue ?? '';
    const inWork = source.startsWith('/') ? relativeInside(dirs.workDir, source) : undefined;
    const inExternals = source.startsWith('/') ? relativeInside(dirs.externalsDir, source) : undefined;
    const rel = inWork ?? (inExternals === undefined ? undefined : posix.join(EXTERNALS_REL, inExternals));
    if (rel === undefined) {
      skipped.push(`${source || '(none)'}:${v.targetVolumePath}: only paths inside the runner's _work can be mounted`);
      continue;
    }
    mounts.push({ target: v.targetVolumePath, rel, readOnly: v.readOnly || inExternals !== undefined });
  }
  return { mounts, skipped };
}

/** Volumes and mounts of a step pod's action container for the planned mounts. */
export function stepPodWorkspace(ws: WorkspaceFacts, plan: StepMountPlan): PodWorkspace {
  const term = nodeTerm(ws);
  return {
    volumes: [workVolume(ws)],
    mounts: plan.mounts.map((m) => mount(ws, m.target, m.rel, m.readOnly)),
    ...(term ? { nodeTerm: term } : {}),
  };
}

/**
 * The outermost paths among `rels`: a path inside another listed path is dropped, because copying
 * the outer one carries it.
 */
export function outermost(rels: readonly string[]): string[] {
  const sorted = [...new Set(rels)].sort((a, b) => a.length - b.length);
  const kept: string[] = [];
  for (const r of sorted) if (!kept.some((k) => k === '' || relativeInside(k, r) !== undefined)) kept.push(r);
  return kept;
}
