import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import type { V1Role } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { configEnvSchema } from '../../../packages/k8s-hook/src/config.js';
import { check } from '@zfs-runner-hooks/vocabulary';
import { runnerSettingsSchema, workflowSettingsSchema } from '../../../packages/zfs-clone/src/index.js';
import { deployManifests, readYaml } from './deploy-files.js';
import { readValues, runnerContainer, runnerEnv, VALUES_FILE } from './helm-values.js';
import { ARC_KUBE_MODE_RULES, missing, permissions } from './rbac-rules.js';
import { repoPath } from './repo.js';

const HOOK_ROLE_FILE = 'deploy/rbac/hook-role.yaml';
/** Read by the runner itself (or by ARC), not by the hook. */
const RUNNER_VARIABLES = new Set(['ACTIONS_RUNNER_CONTAINER_HOOKS', 'ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER']);

const values = readValues();
const env = runnerEnv(values);
const manifests = deployManifests().map((m) => m.object);

function hookRole(): V1Role {
  expect(existsSync(repoPath(HOOK_ROLE_FILE)), `${HOOK_ROLE_FILE} is missing`).toBe(true);
  return readYaml(HOOK_ROLE_FILE) as V1Role;
}

function namesOf(kind: string): string[] {
  return manifests.filter((m) => m.kind === kind).map((m) => m.metadata.name);
}

describe('deploy/helm/values.yaml', () => {
  it('runs the scale set in kubernetes mode with an image built from Dockerfile.runner', () => {
    expect(values.containerMode?.type).toBe('kubernetes');
    const image = runnerContainer(values).image ?? '';
    expect(image).not.toMatch(/^ghcr\.io\/actions\/actions-runner[:@]/);
    expect(image).toMatch(/:[^:/]+$/);
    expect(image).not.toMatch(/:latest$/);
  });

  it('names ACTIONS_RUNNER_CONTAINER_HOOKS in the runner pod spec, pointing at the hook the image installs', () => {
    expect(env.get('ACTIONS_RUNNER_CONTAINER_HOOKS')).toBe('/home/runner/k8s/index.js');
    const podName = runnerContainer(values).env?.find((e) => e.name === 'ACTIONS_RUNNER_POD_NAME');
    expect(podName?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
  });

  it('points ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE at a key of the example template ConfigMap', () => {
    const path = env.get('ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE') ?? '';
    const mount = runnerContainer(values).volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
    expect(mount, `no volumeMount contains ${path}`).toBeDefined();
    const volume = values.template?.spec?.volumes?.find((v) => v.name === mount?.name);
    const configMapName = volume?.configMap?.name;
    const configMap = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === configMapName);
    expect(configMap, `ConfigMap "${String(configMapName)}" is not in deploy/`).toBeDefined();
    const key = posix.relative(mount?.mountPath ?? '', path);
    expect(Object.keys((configMap?.['data'] as Record<string, string> | undefined) ?? {})).toContain(key);
  });

  it('sets only runner variables that the hook or the cache settings know', () => {
    const hookKeys = new Set(Object.keys(configEnvSchema.shape));
    const cacheKeys = new Set(Object.keys(runnerSettingsSchema.shape));
    const unknown = [...env.keys()].filter((k) => !RUNNER_VARIABLES.has(k) && !hookKeys.has(k) && !cacheKeys.has(k));
    expect(unknown).toEqual([]);
  });

  it('gives cache limits that the runner settings schema accepts', () => {
    const cacheEnv = Object.fromEntries([...env].filter(([k]) => k.startsWith('ZFS_CLONE_')));
    const workflowOnly = Object.keys(cacheEnv).filter((k) => k in workflowSettingsSchema.shape);
    expect(workflowOnly).toEqual([]);
    expect(Object.keys(cacheEnv).filter((k) => !(k in runnerSettingsSchema.shape))).toEqual([]);
    const result = check.parse(runnerSettingsSchema, cacheEnv);
    expect(result.ok ? [] : result.issues).toEqual([]);
  });

  it('never lets pull requests promote', () => {
    const events = (env.get('ZFS_CLONE_PROMOTE_EVENTS') ?? '').split(',').map((e) => e.trim());
    expect(events.length).toBeGreaterThan(0);
    expect(events.filter((e) => e.startsWith('pull_request') || e.includes('*'))).toEqual([]);
  });

  it('refers to the storage and snapshot classes shipped in deploy/storage', () => {
    expect(namesOf('StorageClass')).toContain(values.containerMode?.kubernetesModeWorkVolumeClaim?.storageClassName);
    expect(namesOf('StorageClass')).toContain(env.get('ZFS_CLONE_DEFAULT_STORAGE_CLASS'));
    expect(namesOf('VolumeSnapshotClass')).toContain(env.get('ZFS_CLONE_DEFAULT_SNAPSHOT_CLASS'));
  });

  it("adds exactly the hook Role's rules that ARC's kube-mode Role lacks", () => {
    const needed = permissions(hookRole().rules ?? []);
    const arc = permissions(ARC_KUBE_MODE_RULES);
    const added = permissions(values.containerMode?.kubernetesModeAdditionalRoleRules ?? []);
    const granted = new Set([...arc, ...added]);
    expect(missing(needed, granted), `${VALUES_FILE} misses rules of ${HOOK_ROLE_FILE}`).toEqual([]);
    expect(missing(added, needed), `${VALUES_FILE} grants more than ${HOOK_ROLE_FILE}`).toEqual([]);
    expect(
      [...added].filter((p) => arc.has(p)),
      'additional rules repeat what the chart grants',
    ).toEqual([]);
  });

  it('binds the optional cluster-read role to the ServiceAccount the chart creates for this scale set', () => {
    const binding = manifests.find((m) => m.kind === 'ClusterRoleBinding' && m.metadata.name === 'zfs-runner-hooks-cluster-read') as
      | { subjects?: { name: string }[] }
      | undefined;
    // gha-runner-scale-set names it "<runnerScaleSetName>-gha-rs-kube-mode" (templates/_helpers.tpl).
    expect(binding?.subjects?.map((s) => s.name)).toContain(`${values.runnerScaleSetName ?? ''}-gha-rs-kube-mode`);
  });
});
