import { describe, expect, it } from 'vitest';
import { NS, seededCluster } from './ops.fixtures.js';
import { promote, readHead } from './promote.js';
import { rollback } from './rollback.js';

describe('a head never moves to a snapshot whose volume is gone (ZFS destroyed the snapshot with it)', () => {
  /** The seeded cache plus snapshot `left` of clone PVC `c-left`, ready, as a job killed in cleanup_job leaves it. */
  function withLeftSnapshot() {
    const fake = seededCluster();
    fake.put('persistentvolumeclaims', {
      metadata: { name: 'c-left', namespace: NS },
      spec: { dataSource: { kind: 'VolumeSnapshot', name: 'gcc12-g1' } },
      status: { phase: 'Bound' },
    });
    fake.put('volumesnapshots', {
      metadata: { name: 'left', namespace: NS },
      spec: { source: { persistentVolumeClaimName: 'c-left' } },
      status: { readyToUse: true, restoreSize: '2Gi' },
    });
    return fake;
  }

  it('promotes the snapshot while its volume exists', async () => {
    const fake = withLeftSnapshot();
    const result = await promote(fake, { namespace: NS, cache: 'gcc12', snapshot: 'left', expected: { generation: 1, snapshot: 'gcc12-g1' } });
    expect(result).toMatchObject({ outcome: 'promoted', head: { generation: 2, snapshot: 'left' } });
  });

  it('refuses to promote it once its volume is gone, and names the volume', async () => {
    const fake = withLeftSnapshot();
    fake.remove('persistentvolumeclaims', NS, 'c-left');
    await expect(promote(fake, { namespace: NS, cache: 'gcc12', snapshot: 'left', expected: { generation: 1, snapshot: 'gcc12-g1' } })).rejects.toThrow(
      'VolumeSnapshot "left" in namespace "ci" has lost its volume: PVC "c-left" is gone, and under ZFS a snapshot goes with its volume (clones of it would stay Pending); a cache head never moves to it.',
    );
    expect((await readHead(fake, NS, 'gcc12')).head).toMatchObject({ generation: 1, snapshot: 'gcc12-g1' });
  });

  it('refuses to roll back to a generation whose volume is being deleted', async () => {
    const fake = withLeftSnapshot();
    await promote(fake, { namespace: NS, cache: 'gcc12', snapshot: 'left', expected: { generation: 1, snapshot: 'gcc12-g1' } });
    fake.put('persistentvolumeclaims', { metadata: { name: 'golden', namespace: NS, deletionTimestamp: '2025-01-01T00:00:00Z' }, status: { phase: 'Bound' } });
    await expect(rollback(fake, { namespace: NS, cache: 'gcc12' })).rejects.toThrow('PVC "golden" is being deleted');
    expect((await readHead(fake, NS, 'gcc12')).head).toMatchObject({ generation: 2, snapshot: 'left' });
  });
});
