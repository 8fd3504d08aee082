/**
 * The cache's actions as Kubernetes Events, recorded by the real hook bundle under the hook's
 * Role and read back as `kubectl get events` and `kubectl describe` find them (the admin's view),
 * and as `zfs-clone status` shows them.
 */
import type { CoreV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureHookBundle } from '../hook/helpers.js';
import { createCacheWorld, jobContainer, output, type CacheWorld } from './cache-fixtures.js';

/** One line of `kubectl get events`: TYPE, REASON, OBJECT, MESSAGE (the object as kind/name, lower-case kind). */
const line = (e: CoreV1Event) => `${e.type} ${e.reason} ${(e.involvedObject.kind ?? '').toLowerCase()}/${e.involvedObject.name} ${e.message}`;

describe('cache actions in kubectl get events', () => {
  let world: CacheWorld;

  beforeAll(async () => {
    ensureHookBundle();
    world = await createCacheWorld('cache-events');
  });
  afterAll(async () => {
    await world?.dispose();
  });

  async function ours(): Promise<CoreV1Event[]> {
    const list = await world.core.listNamespacedEvent({ namespace: world.ns.name });
    return list.items.filter((e) => e.source?.component === 'zfs-runner-hooks').sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
  }

  it('a promoting job: clone created from generation 1, snapshot taken, cache promoted to generation 2', async () => {
    const seed = (await world.head()).snapshot;
    const { simulator: job, pod } = await world.runner();
    const runnerPod = pod.name;
    const prepared = await job.prepareJob(jobContainer({ ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_PROMOTE: 'true' }));
    expect(prepared.ok, output(prepared)).toBe(true);
    const pvc = (prepared.stateAfter as { clone?: { pvc?: string } }).clone?.pvc ?? '';
    expect((await job.runScript('echo built > "$CONAN_HOME/p/built.txt"\n')).exitCode).toBe(0);
    const cleanup = await job.cleanupJob();
    expect(cleanup.ok, output(cleanup)).toBe(true);
    expect(output(cleanup)).not.toContain('not recorded');
    const head = await world.head();
    expect(head.generation).toBe(2);

    const events = await ours();
    const byReason = (reason: string) => events.find((e) => e.reason === reason) as CoreV1Event;
    expect(events.map((e) => e.reason).sort()).toEqual(['CloneCreated', 'Promoted', 'SnapshotTaken']);
    expect(line(byReason('CloneCreated'))).toBe(
      `Normal CloneCreated persistentvolumeclaim/${pvc} Cloned from cache conan generation 1 (${seed}) for runner pod ${runnerPod}`,
    );
    expect(line(byReason('SnapshotTaken'))).toMatch(
      new RegExp(
        `^Normal SnapshotTaken volumesnapshot/${head.snapshot} Snapshot of clone PVC ${pvc} \\(cloned from generation 1 of cache conan\\) is ready after \\d+ ms$`,
      ),
    );
    expect(line(byReason('Promoted'))).toBe(
      `Normal Promoted configmap/zfs-cache-conan Cache conan promoted to generation 2: VolumeSnapshot ${head.snapshot}, taken from clone PVC ${pvc} of generation 1, by octo-org/hello@refs/heads/main (push) via ${runnerPod}`,
    );

    // kubectl describe finds an object's events by kind, name and uid.
    const uids = {
      CloneCreated: (await world.core.readNamespacedPersistentVolumeClaim({ name: pvc, namespace: world.ns.name })).metadata?.uid,
      SnapshotTaken: (
        (await world.custom.getNamespacedCustomObject({
          group: 'snapshot.storage.k8s.io',
          version: 'v1',
          plural: 'volumesnapshots',
          namespace: world.ns.name,
          name: head.snapshot,
        })) as { metadata: { uid: string } }
      ).metadata.uid,
      Promoted: (await world.core.readNamespacedConfigMap({ name: 'zfs-cache-conan', namespace: world.ns.name })).metadata?.uid,
    };
    for (const [reason, uid] of Object.entries(uids)) {
      expect(uid).toBeTruthy();
      expect(byReason(reason).involvedObject.uid, reason).toBe(uid);
    }
    for (const e of events) {
      expect(e).toMatchObject({ count: 1, reportingComponent: 'zfs-runner-hooks', reportingInstance: runnerPod, involvedObject: { namespace: world.ns.name } });
      expect(e.firstTimestamp).toBeTruthy();
      expect(e.lastTimestamp).toEqual(e.firstTimestamp);
    }

    // zfs-clone status, with the operator's identity, lists them last.
    const status = await world.cli('status', 'conan');
    expect(status.code, status.err).toBe(0);
    const shown = status.out.slice(status.out.indexOf('\nEvents:\n'));
    expect(shown).toMatch(/^\nEvents:\nLAST SEEN +TYPE +REASON +OBJECT +MESSAGE\n/);
    expect(shown).toMatch(new RegExp(`\\n\\d+s +Normal +Promoted +ConfigMap/zfs-cache-conan +Cache conan promoted to generation 2: `));
    for (const reason of ['CloneCreated', 'SnapshotTaken']) expect(shown).toContain(` ${reason} `);
  });
});
