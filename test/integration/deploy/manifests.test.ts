/**
 * Every manifest of the deploy kit, the runner pod the Helm values describe and the pod the example
 * hook template describes, sent to the local cluster's API server as server-side dry-run applies
 * with strict field validation: a misspelt field, a wrong type or an invalid value fails here.
 * The VolumeSnapshot CRDs are installed by the cluster setup, so snapshot kinds are validated
 * against their real schemas too.
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { createKubeClient, isKubeApiError, loadKubeConfigFile, type KubeClient } from '@zfs-runner-hooks/kube';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster, createTestNamespace, type TestNamespace } from '../../cluster/harness.js';
import { deployManifests, type Manifest } from '../../unit/deploy/deploy-files.js';
import { readValues, type ScaleSetValues } from '../../unit/deploy/helm-values.js';
import { dryRunApply, inNamespace } from './dry-run.js';

let namespace: TestNamespace;
let client: KubeClient;

beforeAll(async () => {
  namespace = await createTestNamespace('deploy');
  client = createKubeClient(await loadKubeConfigFile(cluster().kubeconfig));
});

afterAll(async () => {
  client?.close();
  await namespace?.delete();
});

/** The runner pod ARC renders from the values in kubernetes mode: the work volume added. */
function runnerPod(values: ScaleSetValues, ns: string): Manifest {
  const spec = structuredClone(values.template?.spec);
  if (!spec) throw new Error('deploy/helm/values.yaml has no template.spec');
  const runner = spec.containers.find((c) => c.name === 'runner') as V1Container;
  if (!runner.volumeMounts?.some((m) => m.name === 'work')) {
    runner.volumeMounts = [...(runner.volumeMounts ?? []), { name: 'work', mountPath: '/home/runner/_work' }];
  }
  if (!spec.volumes?.some((v) => v.name === 'work')) {
    const claim = values.containerMode?.kubernetesModeWorkVolumeClaim as object;
    spec.volumes = [...(spec.volumes ?? []), { name: 'work', ephemeral: { volumeClaimTemplate: { spec: claim } } }];
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'zfs-conan-runner', namespace: ns }, spec };
}

/** A job pod made of the example hook template alone: `$job` becomes a runnable container. */
function templatePod(configMap: Manifest, ns: string): Manifest {
  const content = (configMap['data'] as Record<string, string>)['content'] ?? '';
  const template = parse(content) as V1Pod;
  const containers = (template.spec?.containers ?? []).map((c) =>
    c.name === '$job' ? { ...c, name: 'job', image: 'busybox:1.36', command: ['tail', '-f', '/dev/null'] } : c,
  );
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...template.metadata, name: 'template-job', namespace: ns },
    spec: { ...template.spec, containers },
  };
}

describe('deploy/ against the API server (server-side dry-run, strict fields)', () => {
  const docs = deployManifests();

  it.each(docs.map((d) => [`${d.file}#${d.index}`, d.object] as const))('accepts %s', async (_where, object) => {
    const applied = await dryRunApply(client, inNamespace(object, namespace.name));
    expect(applied.kind).toBe(object.kind);
    expect(applied.metadata.name).toBe(object.metadata.name);
  });

  it('accepts the runner pod that the Helm values describe', async () => {
    const applied = await dryRunApply(client, runnerPod(readValues(), namespace.name));
    const env = ((applied['spec'] as V1Pod['spec'])?.containers[0]?.env ?? []).map((e) => e.name);
    expect(env).toContain('ACTIONS_RUNNER_CONTAINER_HOOKS');
  });

  it('accepts a job pod built from the example hook template', async () => {
    const configMap = docs.find((d) => d.object.kind === 'ConfigMap')?.object;
    expect(configMap).toBeDefined();
    await dryRunApply(client, templatePod(configMap as Manifest, namespace.name));
  });

  it('rejects a manifest with a misspelt field, naming the field', async () => {
    const storageClass = docs.find((d) => d.object.kind === 'StorageClass')?.object as Manifest;
    const { parameters, ...rest } = storageClass as Manifest & { parameters?: unknown };
    const typo = { ...rest, parameter: parameters } as Manifest;
    const error: unknown = await dryRunApply(client, typo).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isKubeApiError(error), String(error)).toBe(true);
    expect(String((error as Error).message)).toMatch(/parameter/);
  });
});
