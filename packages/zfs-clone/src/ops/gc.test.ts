import { apiError, type FakeObject } from '@zfs-runner-hooks/kube/testing';
import type { Query, ResourceRef } from '@zfs-runner-hooks/kube';
import { describe, expect, it } from 'vitest';
import { buildHeadConfigMap } from '../lineage/head.js';
import { FakeKube } from './fake-kube.fixtures.js';
import { gc } from './gc.js';
import { NS } from './ops.fixtures.js';
import { promote, readHead } from './promote.js';
import { readLineage } from './read-lineage.js';
import { rollback } from './rollback.js';

const MANAGED = { 'app.kubernetes.io/managed-by': 'zfs-runner-hooks', 'zrh.dev/cache': 'gcc12' };

/** A fake API server that honours `DeleteOptions.preconditions` like the real one (409 on a mismatch). */
class PreconditionsKube extends FakeKube {
  /** Runs once, right before the first delete: what happens between gc's read and its deletions. */
  beforeFirstDelete: (() => Promise<void>) | undefined;

  /** Runs once, right before the first replace of a head ConfigMap: what happens between a check and a swap. */
  beforeFirstHeadReplace: (() => Promise<void>) | undefined;

  override async replace<T>(ref: ResourceRef, body: T, query?: Query): Promise<T> {
    const meanwhile = ref.type.plural === 'configmaps' ? this.beforeFirstHeadReplace : undefined;
    if (meanwhile) this.beforeFirstHeadReplace = undefined;
    await meanwhile?.();
    return super.replace(ref, body, query);
  }

  override async delete(ref: ResourceRef, query?: Query, body?: unknown): Promise<boolean> {
    const meanwhile = this.beforeFirstDelete;
    this.beforeFirstDelete = undefined;
    await meanwhile?.();
    const wanted = (body as { preconditions?: { uid?: string; resourceVersion?: string } } | undefined)?.preconditions;
    const current = this.store.get(`${ref.type.plural}/${ref.namespace ?? ''}/${ref.name ?? ''}`);
    if (wanted && current && (wanted.uid !== current.metadata?.uid || wanted.resourceVersion !== current.metadata?.resourceVersion)) {
      this.failNext('delete', ref.type.plural, apiError(409, { reason: 'Conflict' }));
    }
    return super.delete(ref, query, body);
  }
}

/**
 * Seed PVC `golden` → g1 (generation 1), clone c2 of g1 → g2 (generation 2, promoted), then a
 * rollback to g1 (generation 3): g2 and c2 are off the head's lineage.
 */
function rolledBackCluster(): PreconditionsKube {
  const fake = new PreconditionsKube();
  const snapshot = (name: string, pvc: string, role: string): FakeObject => ({
    metadata: { name, namespace: NS, labels: { ...MANAGED, 'zrh.dev/role': role }, creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: { source: { persistentVolumeClaimName: pvc } },
    status: { readyToUse: true, restoreSize: '2Gi' },
  });
  fake.put('persistentvolumeclaims', { metadata: { name: 'golden', namespace: NS }, status: { phase: 'Bound' } });
  fake.put('volumesnapshots', snapshot('g1', 'golden', 'generation'));
  fake.put('persistentvolumeclaims', {
    metadata: { name: 'c2', namespace: NS, labels: { ...MANAGED, 'zrh.dev/role': 'clone' }, creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: { dataSource: { kind: 'VolumeSnapshot', name: 'g1' } },
    status: { phase: 'Bound' },
  });
  fake.put('volumesnapshots', snapshot('g2', 'c2', 'generation'));
  const at = '2025-01-01T00:00:00Z';
  fake.put(
    'configmaps',
    buildHeadConfigMap({
      namespace: NS,
      head: {
        cache: 'gcc12',
        snapshot: 'g1',
        generation: 3,
        history: [
          { generation: 3, snapshot: 'g1', at, reason: 'rollback' },
          { generation: 2, snapshot: 'g2', at, reason: 'promote' },
          { generation: 1, snapshot: 'g1', at, reason: 'seed' },
        ],
      },
    }) as never,
  );
  return fake;
}

const policy = { keepGenerations: 1, graceSeconds: 0, caches: ['gcc12'] };

describe('gc against a head that moves while it runs', () => {
  it('deletes the generations beyond --keep when the head stays', async () => {
    const fake = rolledBackCluster();
    const result = await gc(fake, { namespace: NS, policy });
    expect(result.deleted).toEqual(['snapshot/g2', 'volume/c2']);
    expect(result.left).toEqual([]);
  });

  it('deletes a snapshot whose status its controller updated after gc read it: that is no head claim', async () => {
    const fake = rolledBackCluster();
    fake.beforeFirstDelete = async () => {
      const g2 = fake.store.get(`volumesnapshots/${NS}/g2`);
      fake.put('volumesnapshots', { ...g2, status: { readyToUse: true, restoreSize: '2Gi', creationTime: '2025-01-01T00:00:01Z' } } as FakeObject);
    };
    const result = await gc(fake, { namespace: NS, policy });
    expect(result).toMatchObject({ deleted: ['snapshot/g2', 'volume/c2'], failed: [], left: [] });
  });

  it('leaves the snapshot a rollback moved the head to after gc read the head, and the volume it lives in', async () => {
    const fake = rolledBackCluster();
    fake.beforeFirstDelete = async () => void (await rollback(fake, { namespace: NS, cache: 'gcc12', toGeneration: 2 }));
    const result = await gc(fake, { namespace: NS, policy });
    expect(result).toMatchObject({ deleted: [], failed: [], left: ['snapshot/g2', 'volume/c2'] });
    expect((await readHead(fake, NS, 'gcc12')).head).toMatchObject({ generation: 4, snapshot: 'g2' });
    expect(fake.store.has(`volumesnapshots/${NS}/g2`)).toBe(true);
    expect(fake.store.has(`persistentvolumeclaims/${NS}/c2`)).toBe(true);
  });

  it('leaves a snapshot promoted by hand after gc read the head', async () => {
    const fake = rolledBackCluster();
    fake.put('volumesnapshots', {
      metadata: {
        name: 'cand',
        namespace: NS,
        labels: { ...MANAGED, 'zrh.dev/role': 'candidate' },
        annotations: { 'zrh.dev/expires-at': '2025-01-02T00:00:00Z' },
      },
      spec: { source: { persistentVolumeClaimName: 'c2' } },
      status: { readyToUse: true, restoreSize: '2Gi' },
    });
    // Handed over, as snapshot back does: the snapshot owns the PVC it was taken of.
    const c2 = fake.store.get(`persistentvolumeclaims/${NS}/c2`);
    const uid = fake.store.get(`volumesnapshots/${NS}/cand`)?.metadata?.uid;
    fake.put('persistentvolumeclaims', {
      ...c2,
      metadata: { ...c2?.metadata, ownerReferences: [{ apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshot', name: 'cand', uid: uid ?? '' }] },
    } as FakeObject);
    fake.beforeFirstDelete = async () =>
      void (await promote(fake, { namespace: NS, cache: 'gcc12', snapshot: 'cand', expected: { generation: 3, snapshot: 'g1' } }));
    const result = await gc(fake, { namespace: NS, policy });
    expect(result.left).toContain('snapshot/cand');
    expect(result.left).toContain('volume/c2');
    expect((await readHead(fake, NS, 'gcc12')).head.snapshot).toBe('cand');
    expect(fake.store.has(`volumesnapshots/${NS}/cand`)).toBe(true);
  });

  it('puts the head back when a gc that read it before the swap deleted the snapshot a rollback moves it to', async () => {
    const fake = rolledBackCluster();
    let collected: readonly string[] = [];
    fake.beforeFirstHeadReplace = async () => {
      collected = (await gc(fake, { namespace: NS, policy })).deleted;
    };
    await expect(rollback(fake, { namespace: NS, cache: 'gcc12', toGeneration: 2 })).rejects.toThrow(
      'VolumeSnapshot "g2" in namespace "ci" was deleted (by a gc that read cache "gcc12" before its head moved) just as the head moved to it; the head is back at the snapshot of generation 3 ("g1") as generation 5.',
    );
    expect(collected).toContain('snapshot/g2');
    const { head } = await readHead(fake, NS, 'gcc12');
    expect(head).toMatchObject({ generation: 5, snapshot: 'g1' });
    expect(head.history.slice(0, 2).map((e) => [e.generation, e.snapshot, e.reason])).toEqual([
      [5, 'g1', 'rollback'],
      [4, 'g2', 'rollback'],
    ]);
  });

  it('a rollback after gc deleted the snapshot refuses to move the head to it', async () => {
    const fake = rolledBackCluster();
    await gc(fake, { namespace: NS, policy });
    await expect(rollback(fake, { namespace: NS, cache: 'gcc12', toGeneration: 2 })).rejects.toThrow('VolumeSnapshot "g2" does not exist in namespace "ci".');
    expect((await readHead(fake, NS, 'gcc12')).head).toMatchObject({ generation: 3, snapshot: 'g1' });
  });
});

describe('readLineage', () => {
  it('reads PVCs, then snapshots, then heads, each list after the one before: the order in which a job writes them', async () => {
    const fake = rolledBackCluster();
    const seen: string[] = [];
    const list = fake.list.bind(fake);
    fake.list = async (ref, options) => {
      seen.push(`start ${ref.type.plural}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const answer = await list(ref, options);
      seen.push(`end ${ref.type.plural}`);
      return answer as never;
    };
    await readLineage(fake, NS);
    expect(seen).toEqual([
      'start persistentvolumeclaims',
      'end persistentvolumeclaims',
      'start volumesnapshots',
      'end volumesnapshots',
      'start configmaps',
      'end configmaps',
    ]);
  });
});
