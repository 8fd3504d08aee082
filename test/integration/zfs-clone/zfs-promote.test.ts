import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { createKubeClient, loadKubeConfigFile, type KubeClient } from '@zfs-runner-hooks/kube';
import { createCacheSession, detectCapabilities, readHead, silentLogger } from '@zfs-runner-hooks/zfs-clone';
import { createZfsCloneSuite, mainPush, type ZfsCloneSuite } from './suite.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKubeConfig, apiStatus, cluster, waitFor, type TestNamespace } from '../../cluster/harness.js';

const CRD_NAME = 'zfspromotes.zfs.openebs.io';
const DRIVER_NAMESPACE = 'openebs';
const promoteApi = { group: 'zfs.openebs.io', version: 'v1', plural: 'zfspromotes' } as const;

/** The smallest CRD that makes the API serve `zfspromotes.zfs.openebs.io/v1` like zfs-localpv's. */
const crd: V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: CRD_NAME },
  spec: {
    group: 'zfs.openebs.io',
    scope: 'Namespaced',
    names: { plural: 'zfspromotes', singular: 'zfspromote', kind: 'ZFSPromote', listKind: 'ZFSPromoteList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
      },
    ],
  },
};

interface ZfsPromoteObject {
  metadata: { name: string; labels?: Record<string, string>; resourceVersion?: string };
  spec: { volumeName: string };
  status?: { state?: string };
}

// No zfs-localpv here: the test plays the driver's part by setting the ZFSPromote's status. What
// it proves is the API side (detection, the request gc makes, how gc reacts to Done); that the
// host-path volumes really become independent is not something this cluster can show.
describe("zfs-clone gc with the driver's ZFSPromote resource (CRD installed by the test, no ZFS driver)", () => {
  const admin = adminKubeConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const custom = admin.makeApiClient(CustomObjectsApi);
  const extensions = admin.makeApiClient(ApiextensionsV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  let ns: TestNamespace;
  let adminKube: KubeClient;
  /** The least-privilege identity: the namespaced zfs-clone Role, nothing on zfspromotes. */
  let kube: KubeClient;
  let s: ZfsCloneSuite;
  const pod = (name: string) => s.pod(name);
  const cli = (...argv: string[]) => s.cli(...argv);

  beforeAll(async () => {
    await removeCrd(); // left over by an earlier run that was killed
    s = await createZfsCloneSuite('zp');
    ({ ns, kube } = s);
    adminKube = createKubeClient(await loadKubeConfigFile(cluster().kubeconfig));
  });
  afterAll(async () => {
    adminKube?.close();
    await s?.close();
    await removeCrd();
    try {
      await core.deleteNamespace({ name: DRIVER_NAMESPACE, propagationPolicy: 'Background' });
    } catch (error) {
      if (apiStatus(error) !== 404) throw error;
    }
  });

  async function removeCrd(): Promise<void> {
    try {
      await extensions.deleteCustomResourceDefinition({ name: CRD_NAME });
    } catch (error) {
      if (apiStatus(error) === 404) return;
      throw error;
    }
    await waitFor(
      `CRD ${CRD_NAME} gone`,
      () => extensions.listCustomResourceDefinition(),
      (l) => !l.items.some((c) => c.metadata?.name === CRD_NAME),
    );
  }

  /** A job that clones the head and promotes its snapshot; returns its clone PVC's name. */
  async function promotingJob(runner: string): Promise<string> {
    const runnerPod = await pod(runner);
    const session = createCacheSession({ kube, namespace: ns.name, runnerPod, runnerEnv: mainPush, logger: silentLogger });
    const prepared = await session.prepare({ ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_PROMOTE: 'true' });
    if (!prepared) throw new Error('expected a clone');
    const state = await session.onPodCreated(prepared.state, await pod(`${runner}-job`));
    const report = await session.cleanup(state, { succeeded: true });
    expect(report.promotion?.outcome).toBe('promoted');
    await core.deleteNamespacedPod({ name: `${runner}-job`, namespace: ns.name });
    return state.pvc;
  }

  async function promotes(): Promise<ZfsPromoteObject[]> {
    const list = (await custom.listNamespacedCustomObject({ ...promoteApi, namespace: DRIVER_NAMESPACE })) as { items: ZfsPromoteObject[] };
    return list.items;
  }

  const forbiddenNote = `not allowed to list zfspromotes.zfs.openebs.io in namespace "${DRIVER_NAMESPACE}", so gc requests no ZFSPromote (grant get, list and create on it there if the driver offers it)`;

  it('detects no ZFSPromote while the API does not serve it', async () => {
    expect(await detectCapabilities(adminKube)).toEqual({ zfsPromote: false });
    // The API server authorizes before it looks the resource up: 403, not 404, for a client
    // without list rights, although the resource does not exist.
    await expect(kube.list({ type: { ...promoteApi, namespaced: true }, namespace: DRIVER_NAMESPACE })).rejects.toMatchObject({ status: 403 });
    expect(await detectCapabilities(kube)).toEqual({ zfsPromote: false, note: forbiddenNote });
  });

  it('detects ZFSPromote once its CRD is Established; a client forbidden to list it gets the same 403 as before', async () => {
    await extensions.createCustomResourceDefinition({ body: crd });
    await waitFor(
      `CRD ${CRD_NAME} Established`,
      () => extensions.readCustomResourceDefinition({ name: CRD_NAME }),
      (c) => c.status?.conditions?.some((k) => k.type === 'Established' && k.status === 'True') === true,
    );
    // The driver namespace need not exist for the list to answer.
    expect(await detectCapabilities(adminKube)).toEqual({ zfsPromote: true });
    await expect(kube.list({ type: { ...promoteApi, namespaced: true }, namespace: DRIVER_NAMESPACE })).rejects.toMatchObject({ status: 403 });
    expect(await detectCapabilities(kube)).toEqual({ zfsPromote: false, note: forbiddenNote });
  });

  it('gc requests a ZFSPromote for the oldest kept generation volume, and marks it detached once Done', async () => {
    expect((await cli('seed', 'conan', '--from-pvc', 'golden')).code).toBe(0);
    const seedSnapshot = (await readHead(kube, ns.name, 'conan')).head.snapshot;
    const v2 = await promotingJob('runner-a'); // generation 2: a clone of the seed snapshot
    const v3 = await promotingJob('runner-b'); // generation 3: a clone of generation 2's snapshot
    const { head } = await readHead(kube, ns.name, 'conan');
    expect(head.history.map((e) => e.generation)).toEqual([3, 2, 1]);

    // Without rights on ZFSPromote in the driver namespace, gc says why it promotes nothing and
    // keeps the whole chain.
    const unprivileged = await cli('gc', 'conan', '--keep', '2', '--grace', '0');
    expect(unprivileged).toEqual({ code: 0, out: 'Nothing to delete.\n', err: `warning: ${forbiddenNote}\n` });

    // An operator grants them (the driver namespace exists where the driver runs).
    await core.createNamespace({ body: { metadata: { name: DRIVER_NAMESPACE } } }).catch((error: unknown) => {
      if (apiStatus(error) !== 409) throw error;
    });
    await rbac.createNamespacedRole({
      namespace: DRIVER_NAMESPACE,
      body: {
        metadata: { name: `zfs-clone-${ns.name}` },
        rules: [{ apiGroups: ['zfs.openebs.io'], resources: ['zfspromotes'], verbs: ['get', 'list', 'create'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: DRIVER_NAMESPACE,
      body: {
        metadata: { name: `zfs-clone-${ns.name}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `zfs-clone-${ns.name}` },
        subjects: [{ kind: 'ServiceAccount', name: 'zfs-clone', namespace: ns.name }],
      },
    });
    await waitFor(
      'ZFSPromote visible to the zfs-clone ServiceAccount',
      () => detectCapabilities(kube),
      (c) => c.zfsPromote,
    );

    // Keeping 2 generations (3 and 2), only volume v2 keeps the seed snapshot alive.
    const dryRun = await cli('gc', 'conan', '--keep', '2', '--grace', '0', '--dry-run');
    expect(dryRun).toMatchObject({
      code: 0,
      out: expect.stringContaining(`would promote: volume/${v2} (only it keeps snapshot ${seedSnapshot} and its ancestors alive)`),
    });
    expect(dryRun.out).not.toContain(v3);
    expect(await promotes()).toEqual([]);

    const requested = await cli('gc', 'conan', '--keep', '2', '--grace', '0');
    expect(requested).toMatchObject({
      code: 0,
      out: `Nothing to delete.\npromote requested: volume/${v2} (only it keeps snapshot ${seedSnapshot} and its ancestors alive)\n`,
    });
    // Progress reaches stderr only on a terminal (the CLI's convention): the effects are read below.
    expect(requested.err).not.toContain('requested ZFSPromote');
    const pv2 = (await core.readNamespacedPersistentVolumeClaim({ name: v2, namespace: ns.name })).spec?.volumeName ?? '';
    expect(pv2).not.toBe('');
    const [request, ...others] = await promotes();
    expect(others).toEqual([]);
    expect(request?.spec).toEqual({ volumeName: pv2 });
    expect(request?.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'zfs-runner-hooks' });
    expect(request?.status).toBeUndefined();

    // While the driver works on it, gc neither asks again nor marks the volume.
    expect((await cli('gc', 'conan', '--keep', '2', '--grace', '0')).code).toBe(0);
    expect(await promotes()).toHaveLength(1);
    const annotations = async () => (await core.readNamespacedPersistentVolumeClaim({ name: v2, namespace: ns.name })).metadata?.annotations ?? {};
    expect(await annotations()).not.toHaveProperty('zrh.dev/detached');

    // The driver reports Done (status subresource, as zfs-localpv writes it).
    const name = request?.metadata.name ?? '';
    const current = (await custom.getNamespacedCustomObject({ ...promoteApi, namespace: DRIVER_NAMESPACE, name })) as ZfsPromoteObject;
    await custom.replaceNamespacedCustomObjectStatus({ ...promoteApi, namespace: DRIVER_NAMESPACE, name, body: { ...current, status: { state: 'Done' } } });

    const detached = await cli('gc', 'conan', '--keep', '2', '--grace', '0');
    expect(detached).toMatchObject({ code: 0 });
    expect(await annotations()).toMatchObject({ 'zrh.dev/detached': 'true' });

    // The next gc deletes the seed snapshot nothing kept depends on any more, keeps the seed PVC
    // (not managed) and asks for no further promotion.
    const collected = await cli('gc', 'conan', '--keep', '2', '--grace', '0', '-o', 'json');
    expect(collected.code).toBe(0);
    const result = JSON.parse(collected.out) as { capabilities: unknown; deleted: string[]; plan: { promote: unknown[] } };
    expect(result.capabilities).toEqual({ zfsPromote: true });
    expect(result.deleted).toEqual([`snapshot/${seedSnapshot}`]);
    expect(result.plan.promote).toEqual([]);
    await core.readNamespacedPersistentVolumeClaim({ name: 'golden', namespace: ns.name });
    expect((await readHead(kube, ns.name, 'conan')).head).toEqual(head);
  });
});
