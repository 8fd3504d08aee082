import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKubeConfig, createTestNamespace, waitFor, type TestNamespace } from '../../cluster/harness.js';

describe('local cluster: scheduling onto kwok nodes', () => {
  const core = adminKubeConfig().makeApiClient(CoreV1Api);
  let ns: TestNamespace;

  beforeAll(async () => {
    ns = await createTestNamespace('sched');
  });
  afterAll(async () => {
    await ns?.delete();
  });

  function pod(name: string, spec: Partial<NonNullable<V1Pod['spec']>> = {}, image = 'registry.invalid/zrh/busybox:1'): V1Pod {
    return {
      metadata: { name },
      spec: {
        containers: [{ name: 'main', image, command: ['sleep', '3600'] }],
        // With a real node (ZRH_NODE_MODE=real) the kwok nodes carry this taint.
        tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
        ...spec,
      },
    };
  }

  it('has the kwok nodes Ready, with no address outside loopback', async () => {
    const nodes = await core.listNode({ labelSelector: 'type=kwok' });
    expect(nodes.items.map((n) => n.metadata?.name).sort()).toEqual(expect.arrayContaining(['kwok-node-0', 'kwok-node-1', 'kwok-node-2']));
    for (const node of nodes.items) {
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      expect(ready?.status, `node ${node.metadata?.name} Ready`).toBe('True');
      for (const address of node.status?.addresses ?? []) {
        if (address.type === 'InternalIP' || address.type === 'ExternalIP') {
          expect(address.address, `${node.metadata?.name} ${address.type}`).toBe('127.0.0.1');
        }
      }
    }
  });

  it('schedules a pod onto a kwok node, where it reaches Running', async () => {
    await core.createNamespacedPod({ namespace: ns.name, body: pod('runs', { nodeSelector: { type: 'kwok' } }) });
    const running = await waitFor(
      `pod ${ns.name}/runs to be Running`,
      () => core.readNamespacedPod({ name: 'runs', namespace: ns.name }),
      (p) => p.status?.phase === 'Running',
    );
    expect(running.spec?.nodeName).toMatch(/^kwok-node-\d+$/);
    expect(running.status?.containerStatuses?.[0]?.ready).toBe(true);
  });

  it('reports FailedScheduling with the scheduler message for a pod no node can take', async () => {
    await core.createNamespacedPod({
      namespace: ns.name,
      body: pod('unschedulable', { nodeSelector: { 'zrh.test/no-such-label': 'true' } }),
    });
    const events = await waitFor(
      `a FailedScheduling event for pod ${ns.name}/unschedulable`,
      () =>
        core.listNamespacedEvent({
          namespace: ns.name,
          fieldSelector: 'involvedObject.name=unschedulable,reason=FailedScheduling',
        }),
      (list) => list.items.length > 0,
    );
    expect(events.items[0]?.type).toBe('Warning');
    expect(events.items[0]?.message).toMatch(/0\/\d+ nodes are available: .*didn't match Pod's node affinity\/selector/);

    const pending = await core.readNamespacedPod({ name: 'unschedulable', namespace: ns.name });
    expect(pending.status?.phase).toBe('Pending');
    const scheduled = pending.status?.conditions?.find((c) => c.type === 'PodScheduled');
    expect(scheduled).toMatchObject({ status: 'False', reason: 'Unschedulable' });
  });

  it('does not simulate image pulls: a pod with a missing image still runs on a kwok node', async () => {
    // kwok only plays the pod lifecycle from its stages; it never pulls images, so ErrImagePull /
    // ImagePullBackOff cannot be observed here (a stage could fake it, which would test nothing).
    // The real image-pull failure is covered by the real-node mode (kubelet + containerd).
    await core.createNamespacedPod({
      namespace: ns.name,
      body: pod('missing-image', { nodeSelector: { type: 'kwok' } }, 'registry.invalid/zrh/does-not-exist:0'),
    });
    const running = await waitFor(
      `pod ${ns.name}/missing-image to be Running`,
      () => core.readNamespacedPod({ name: 'missing-image', namespace: ns.name }),
      (p) => p.status?.phase === 'Running',
    );
    expect(running.status?.containerStatuses?.[0]?.state?.waiting).toBeUndefined();
  });
});
