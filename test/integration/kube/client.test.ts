import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createKubeClient,
  isAlreadyExists,
  isConflict,
  isForbidden,
  isInvalid,
  isNotFound,
  KubeApiError,
  loadKubeConfig,
  R,
  type KubeClient,
} from '@zfs-runner-hooks/kube';
import type { V1ConfigMap, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster, createTestNamespace, serviceAccountKubeConfig, type TestNamespace } from '../../cluster/harness.js';

const roleFile = fileURLToPath(new URL('./fixtures/configmap-reader-role.yaml', import.meta.url));

async function failure(p: Promise<unknown>): Promise<KubeApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KubeApiError);
  return err as KubeApiError;
}

describe('@zfs-runner-hooks/kube against the real API server', () => {
  let ns: TestNamespace;
  let kube: KubeClient;
  let tmp: string;

  beforeAll(async () => {
    ns = await createTestNamespace('kube');
    tmp = mkdtempSync(join(tmpdir(), 'kube-it-'));
    kube = createKubeClient(await loadKubeConfig({ kubeconfig: cluster().kubeconfig, env: {} }));
  });
  afterAll(async () => {
    kube?.close();
    await ns?.delete();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const cm = (name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}): V1ConfigMap => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, labels },
    data,
  });

  it('creates, reads, lists, patches in all four ways, replaces and deletes a ConfigMap', async () => {
    const ref = { type: R.configMaps, namespace: ns.name, name: 'crud' };
    const created = await kube.create({ type: R.configMaps, namespace: ns.name }, cm('crud', { a: '1' }, { suite: 'crud' }));
    expect(created.metadata?.uid).toBeTruthy();
    expect((await kube.get<V1ConfigMap>(ref)).data).toEqual({ a: '1' });

    const list = await kube.list<V1ConfigMap>({ type: R.configMaps, namespace: ns.name }, { labelSelector: 'suite=crud' });
    expect(list.items.map((i) => i.metadata?.name)).toEqual(['crud']);
    expect(list.metadata.resourceVersion).toBeTruthy();

    await kube.patch(ref, { data: { b: '2' } }, 'merge');
    await kube.patch(ref, { data: { c: '3' } }, 'strategic');
    await kube.patch(ref, [{ op: 'add', path: '/data/d', value: '4' }], 'json');
    await kube.patch(ref, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'crud' }, data: { e: '5' } }, 'apply', {
      fieldManager: 'zrh-test',
      force: true,
    });
    expect((await kube.get<V1ConfigMap>(ref)).data).toEqual({ a: '1', b: '2', c: '3', d: '4', e: '5' });

    const current = await kube.get<V1ConfigMap>(ref);
    const replaced = await kube.replace<V1ConfigMap>(ref, { ...current, data: { only: 'this' } });
    expect(replaced.data).toEqual({ only: 'this' });

    expect(await kube.delete(ref)).toBe(true);
    expect(await kube.find(ref)).toBeUndefined();
    expect(await kube.delete(ref)).toBe(false);
    const notFound = await failure(kube.get(ref));
    expect(isNotFound(notFound)).toBe(true);
    expect(notFound.message).toBe(`configmaps "crud" not found in namespace "${ns.name}" (HTTP 404)`);
  });

  it('refuses a replace with a stale resourceVersion as a conflict (compare-and-swap)', async () => {
    const ref = { type: R.configMaps, namespace: ns.name, name: 'cas' };
    const v1 = await kube.create({ type: R.configMaps, namespace: ns.name }, cm('cas', { head: 'gen-1' }));
    await kube.replace(ref, { ...v1, data: { head: 'gen-2' } });
    const err = await failure(kube.replace(ref, { ...v1, data: { head: 'gen-2-other' } }));
    expect(isConflict(err)).toBe(true);
    expect(err.message).toBe(
      'Operation cannot be fulfilled on configmaps "cas": the object has been modified; please apply your changes to the latest version and try again (HTTP 409). ' +
        'Read the object again and retry with its current resourceVersion',
    );
    expect((await kube.get<V1ConfigMap>(ref)).data).toEqual({ head: 'gen-2' });
  });

  it('tells an existing name and an invalid object apart', async () => {
    const coll = { type: R.configMaps, namespace: ns.name };
    await kube.create(coll, cm('twice'));
    const exists = await failure(kube.create(coll, cm('twice')));
    expect(isAlreadyExists(exists)).toBe(true);
    expect(exists.message).toBe(`configmaps "twice" already exists in namespace "${ns.name}" (HTTP 409)`);

    const invalid = await failure(kube.create(coll, cm('Bad_Name')));
    expect(isInvalid(invalid)).toBe(true);
    expect(invalid.message).toMatch(/^ConfigMap "Bad_Name" is invalid \(HTTP 422\): metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
    expect(invalid.causes.map((c) => c.field)).toEqual(['metadata.name']);
  });

  it('watches until a predicate holds and resolves with that object', async () => {
    const coll = { type: R.configMaps, namespace: ns.name };
    const ref = { ...coll, name: 'watched' };
    const created = await kube.create(coll, cm('watched', { step: '1' }));
    const seen: string[] = [];
    // Watching from the creation's resourceVersion replays every later change, so the order
    // of events does not depend on when the watch request reaches the server.
    const watching = kube.watch<V1ConfigMap>(
      coll,
      (e) => {
        seen.push(`${e.type} ${e.object.data?.step ?? '-'}`);
        return e.object.data?.step === '3';
      },
      { fieldSelector: 'metadata.name=watched', resourceVersion: created.metadata?.resourceVersion, timeoutSeconds: 60 },
    );
    await kube.patch(ref, { data: { step: '2' } });
    await kube.patch(ref, { data: { step: '3' } });
    await kube.patch(ref, { data: { step: '4' } });
    const found = await watching;
    expect(found?.data?.step).toBe('3');
    expect(seen).toEqual(['MODIFIED 2', 'MODIFIED 3']);
  });

  it('resolves a watch with undefined when its signal aborts', async () => {
    const ac = new AbortController();
    const watching = kube.watch({ type: R.configMaps, namespace: ns.name }, () => false, { fieldSelector: 'metadata.name=never', signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    await expect(watching).resolves.toBeUndefined();
  });

  it('counts requests by verb and resource', async () => {
    const fresh = createKubeClient(await loadKubeConfig({ kubeconfig: cluster().kubeconfig, env: {} }));
    try {
      const coll = { type: R.configMaps, namespace: ns.name };
      await fresh.create(coll, cm('counted'));
      await fresh.get({ ...coll, name: 'counted' });
      await fresh.list(coll);
      await fresh.watch(coll, () => true, { fieldSelector: 'metadata.name=counted' });
      await fresh.delete({ ...coll, name: 'counted' });
      await fresh.find({ type: R.pods, namespace: ns.name, name: 'none' });
      expect(Object.fromEntries(fresh.stats.byKind)).toEqual({
        'POST configmaps': 1,
        'GET configmaps': 2,
        'WATCH configmaps': 1,
        'DELETE configmaps': 1,
        'GET pods': 1,
      });
      expect(fresh.stats.total).toBe(6);
    } finally {
      fresh.close();
    }
  });

  describe('as a ServiceAccount that may only read ConfigMaps', () => {
    let restricted: KubeClient;

    beforeAll(async () => {
      const kc = await serviceAccountKubeConfig(ns.name, roleFile, 'reader');
      const file = join(tmp, 'reader.kubeconfig');
      writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
      const config = await loadKubeConfig({ kubeconfig: file, env: {} });
      expect(config.token).toBeTruthy();
      restricted = createKubeClient(config);
    });
    afterAll(() => restricted?.close());

    it('reads what the Role allows, from the context namespace', async () => {
      expect(restricted.defaultNamespace).toBe(ns.name);
      const list = await restricted.list({ type: R.configMaps, namespace: ns.name });
      expect(Array.isArray(list.items)).toBe(true);
    });

    it('says which Role rule is missing when a create is forbidden', async () => {
      const pvc: V1PersistentVolumeClaim = {
        metadata: { name: 'denied' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } },
      };
      const err = await failure(restricted.create({ type: R.persistentVolumeClaims, namespace: ns.name }, pvc));
      expect(isForbidden(err)).toBe(true);
      expect(err.message).toBe(
        `forbidden: cannot create persistentvolumeclaims in namespace "${ns.name}" (HTTP 403). ` +
          `The hook's ServiceAccount needs a Role rule: apiGroups [""], resources ["persistentvolumeclaims"], verbs ["create"]`,
      );
      expect(err.serverMessage).toContain(`system:serviceaccount:${ns.name}:reader`);
    });

    it('turns a refused exec upgrade into a 403 KubeApiError naming pods/exec', async () => {
      const err = await failure(restricted.exec({ namespace: ns.name, pod: 'any', container: 'c', command: ['true'] }));
      expect(isForbidden(err)).toBe(true);
      expect(err.message).toMatch(new RegExp(`^forbidden: cannot create pods/exec in namespace "${ns.name}" \\(HTTP 403\\)`));
    });
  });

  it('turns an exec upgrade to a missing pod into a 404 KubeApiError', async () => {
    const err = await failure(kube.exec({ namespace: ns.name, pod: 'no-such-pod', container: 'c', command: ['true'] }));
    expect(isNotFound(err)).toBe(true);
    expect(err.message).toBe(`pods "no-such-pod" not found in namespace "${ns.name}" (HTTP 404)`);
  });
});
