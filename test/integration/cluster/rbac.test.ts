import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuthenticationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { createKubeClient, isForbidden, loadKubeConfigFile, R, type KubeClient } from '@zfs-runner-hooks/kube';
import { createCacheSession, readHead, silentLogger } from '@zfs-runner-hooks/zfs-clone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { adminKubeConfig, apiStatus, createTestNamespace, serviceAccountKubeConfig, type TestNamespace } from '../../cluster/harness.js';
import { hookRole } from '../../cluster/hook-role.js';
import { createZfsCloneSuite, mainPush, type ZfsCloneSuite } from '../zfs-clone/suite.js';

const roleFile = fileURLToPath(new URL('./fixtures/pod-reader-role.yaml', import.meta.url));

/** Runs `call` and returns the HTTP status it failed with (or 200 when it succeeded). */
async function statusOf(call: () => Promise<unknown>): Promise<number | undefined> {
  try {
    await call();
    return 200;
  } catch (error) {
    return apiStatus(error) ?? -1;
  }
}

describe('local cluster: least-privilege ServiceAccount identity', () => {
  let ns: TestNamespace;
  let other: TestNamespace;
  let kc: KubeConfig;

  beforeAll(async () => {
    ns = await createTestNamespace('rbac');
    other = await createTestNamespace('rbac-other');
    kc = await serviceAccountKubeConfig(ns.name, roleFile, 'hook');
  });
  afterAll(async () => {
    await ns?.delete();
    await other?.delete();
  });

  it('authenticates as the ServiceAccount, not as admin', async () => {
    const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${ns.name}:hook`);
    expect(review.status?.userInfo?.groups).not.toContain('system:masters');
  });

  it('is allowed what its Role grants', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    expect(await statusOf(() => core.listNamespacedPod({ namespace: ns.name }))).toBe(200);
    expect(await statusOf(() => core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'allowed' }, data: { a: 'b' } } }))).toBe(200);
    expect(await statusOf(() => core.deleteNamespacedConfigMap({ namespace: ns.name, name: 'allowed' }))).toBe(200);
  });

  it('gets 403 Forbidden for everything else', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const pod = { metadata: { name: 'denied' }, spec: { containers: [{ name: 'c', image: 'x:1' }] } };
    expect(await statusOf(() => core.createNamespacedPod({ namespace: ns.name, body: pod }))).toBe(403);
    expect(await statusOf(() => core.listNamespacedSecret({ namespace: ns.name }))).toBe(403);
    expect(await statusOf(() => core.listNamespacedPod({ namespace: other.name }))).toBe(403);
    expect(await statusOf(() => core.listNamespace())).toBe(403);
    expect(
      await statusOf(() =>
        custom.listNamespacedCustomObject({
          group: 'snapshot.storage.k8s.io',
          version: 'v1',
          namespace: ns.name,
          plural: 'volumesnapshots',
        }),
      ),
    ).toBe(403);
  });
});

/**
 * The shipped hook Role (deploy/rbac/hook-role.yaml) names the cache heads it may update: the hook
 * can move the head of its cache, and nothing else among ConfigMaps — above all not the hook
 * template that hardens every job pod (docs/decisions/0016-cache-head-rbac.md).
 */
describe("the hook's Role: cache heads by name, never the hook template", () => {
  const templateFile = fileURLToPath(new URL('../../../deploy/examples/hook-template-configmap.yaml', import.meta.url));
  let suite: ZfsCloneSuite;
  let hook: KubeClient;
  let template: V1ConfigMap;
  let scratch: string | undefined;
  const admin = () => adminKubeConfig().makeApiClient(CoreV1Api);

  beforeAll(async () => {
    suite = await createZfsCloneSuite('rbac-heads');
    const namespace = suite.ns.name;
    for (const cache of ['conan', 'other']) {
      const seeded = await suite.cli('seed', cache, '--from-pvc', 'golden');
      if (seeded.code !== 0) throw new Error(`zfs-clone seed ${cache} failed (${seeded.code}): ${seeded.err}`);
    }
    const shipped = parse(readFileSync(templateFile, 'utf8')) as V1ConfigMap;
    template = await admin().createNamespacedConfigMap({ namespace, body: { ...shipped, metadata: { ...shipped.metadata, namespace } } });
    scratch = mkdtempSync(join(tmpdir(), 'rbac-heads-'));
    const file = join(scratch, 'hook.kubeconfig');
    writeFileSync(file, (await serviceAccountKubeConfig(namespace, hookRole(namespace, ['conan']), 'hook')).exportConfig(), { mode: 0o600 });
    hook = createKubeClient(await loadKubeConfigFile(file));
  });
  afterAll(async () => {
    hook?.close();
    await suite?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const forbidden = async (call: Promise<unknown>) => {
    const err = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isForbidden(err), `expected 403, got ${String(err)}`).toBe(true);
    return (err as Error).message;
  };

  it('cannot update, patch, delete or replace the hook template ConfigMap (403), and it stays as the admin wrote it', async () => {
    const namespace = suite.ns.name;
    const ref = { type: R.configMaps, namespace, name: template.metadata?.name ?? '' };
    // Reading is allowed (the runner mounts it anyway); every write is not.
    const read = await hook.get<V1ConfigMap>(ref);
    const weakened = { ...read, data: { content: 'spec:\n  containers: [{name: $job, securityContext: {privileged: true}}]\n' } };
    expect(await forbidden(hook.replace(ref, weakened))).toBe(
      `forbidden: cannot update configmaps in namespace "${namespace}" (HTTP 403). ` +
        `The hook's ServiceAccount needs a Role rule: apiGroups [""], resources ["configmaps"], verbs ["update"] that covers configmaps "zfs-runner-hooks-job-template" ` +
        '(when the rule lists resourceNames, add "zfs-runner-hooks-job-template" to them)',
    );
    await forbidden(hook.patch(ref, { data: weakened.data }, 'merge'));
    await forbidden(hook.delete(ref));
    await forbidden(hook.create({ type: R.configMaps, namespace }, { metadata: { name: 'zfs-cache-new' }, data: {} }));
    const after = await admin().readNamespacedConfigMap({ namespace, name: ref.name });
    expect(after.data).toEqual(template.data);
    expect(after.metadata?.resourceVersion).toBe(template.metadata?.resourceVersion);
  });

  it('cannot move the head of a cache the Role does not name', async () => {
    const namespace = suite.ns.name;
    const ref = { type: R.configMaps, namespace, name: 'zfs-cache-other' };
    const before = await hook.get<V1ConfigMap>(ref);
    expect(await forbidden(hook.replace(ref, { ...before, data: { ...before.data } }))).toContain('add "zfs-cache-other" to them');
    expect((await hook.get<V1ConfigMap>(ref)).metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
  });

  it('promotes the cache it names through the library, as the hook does (get and update by name, gc lists by label)', async () => {
    const namespace = suite.ns.name;
    const runnerPod = await suite.pod('runner-1');
    const session = createCacheSession({ kube: hook, namespace, runnerPod, runnerEnv: mainPush, logger: silentLogger });
    const prepared = await session.prepare({ ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_PROMOTE: 'true' });
    if (!prepared) throw new Error('expected a clone of cache conan');
    const state = await session.onPodCreated(prepared.state, await suite.pod('runner-1-job'));
    const report = await session.cleanup(state, { succeeded: true });
    expect(report.problems).toEqual([]);
    expect(report.promotion).toEqual({ outcome: 'promoted', generation: 2 });
    expect((await readHead(hook, namespace, 'conan')).head).toMatchObject({ generation: 2, snapshot: report.snapshot });
  });
});

/**
 * The shipped hook Role creates and deletes Secrets but cannot read one: a `get`, `list` or
 * `watch` would hand every Secret of the namespace (ARC's GitHub App key above all) to whoever
 * runs as the runner.
 */
describe("the hook's Role: Secrets are created and deleted, never read", () => {
  let ns: TestNamespace;
  let core: CoreV1Api;

  beforeAll(async () => {
    ns = await createTestNamespace('rbac-secrets');
    await adminKubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: 'github-app' }, stringData: { github_app_private_key: 'key' } } });
    core = (await serviceAccountKubeConfig(ns.name, hookRole(ns.name, []), 'hook')).makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await ns?.delete();
  });

  it('gets 403 listing, watching or getting a Secret, its own included', async () => {
    expect(
      await statusOf(() =>
        core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: 'own', labels: { 'runner-pod': 'r' } }, stringData: { a: 'b' } } }),
      ),
    ).toBe(200);
    expect(await statusOf(() => core.listNamespacedSecret({ namespace: ns.name }))).toBe(403);
    expect(await statusOf(() => core.listNamespacedSecret({ namespace: ns.name, labelSelector: 'runner-pod=r' }))).toBe(403);
    expect(await statusOf(() => core.listNamespacedSecret({ namespace: ns.name, watch: true, timeoutSeconds: 1 }))).toBe(403);
    expect(await statusOf(() => core.readNamespacedSecret({ namespace: ns.name, name: 'github-app' }))).toBe(403);
    expect(await statusOf(() => core.readNamespacedSecret({ namespace: ns.name, name: 'own' }))).toBe(403);
    expect(await statusOf(() => core.listSecretForAllNamespaces())).toBe(403);
  });

  it('may delete a Secret by name, and nothing else about Secrets', async () => {
    expect(await statusOf(() => core.deleteNamespacedSecret({ namespace: ns.name, name: 'own' }))).toBe(200);
    expect(await statusOf(() => core.deleteCollectionNamespacedSecret({ namespace: ns.name }))).toBe(403);
    expect(await statusOf(() => core.patchNamespacedSecret({ namespace: ns.name, name: 'github-app', body: { data: {} } }))).toBe(403);
    const left = await adminKubeConfig().makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: ns.name });
    expect(left.items.map((s) => s.metadata?.name)).toEqual(['github-app']);
  });
});
