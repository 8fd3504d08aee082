import { fileURLToPath } from 'node:url';
import { AuthenticationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiStatus,
  createTestNamespace,
  serviceAccountKubeConfig,
  type TestNamespace,
} from '../../cluster/harness.js';

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
    expect(
      await statusOf(() =>
        core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'allowed' }, data: { a: 'b' } } }),
      ),
    ).toBe(200);
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
