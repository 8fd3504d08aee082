import type { CoreV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, waitFor, type TestNamespace } from '../../cluster/harness.js';
import { adminCoreApi, IMAGES, realNodeName, realNodePod } from './real-node.js';

describe('real node: locally built images', () => {
  const core = adminCoreApi();
  let ns: TestNamespace;

  beforeAll(async () => {
    ns = await createTestNamespace('node-images');
  });
  afterAll(async () => {
    await ns?.delete();
  });

  it('lists every locally built image in the node status', async () => {
    const node = await core.readNode({ name: await realNodeName(core) });
    const names = (node.status?.images ?? []).flatMap((i) => i.names ?? []);
    for (const image of Object.values(IMAGES)) expect(names).toContain(image);
  });

  it('fails a pod with an unknown image with ErrImageNeverPull, visible in its events', async () => {
    const image = 'zrh.local/no-such-image:1';
    await core.createNamespacedPod({
      namespace: ns.name,
      body: realNodePod('unknown-image', { containers: [{ name: 'job', image }] }),
    });

    const pod = await waitFor(
      'the container to wait with reason ErrImageNeverPull',
      () => core.readNamespacedPod({ name: 'unknown-image', namespace: ns.name }),
      (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImageNeverPull',
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(pod.status?.phase).toBe('Pending');
    expect(pod.status?.containerStatuses?.[0]?.state?.waiting?.message).toContain(image);

    const events = await waitFor(
      'an ErrImageNeverPull event of the pod',
      () =>
        core.listNamespacedEvent({
          namespace: ns.name,
          fieldSelector: 'involvedObject.kind=Pod,involvedObject.name=unknown-image',
        }),
      (list) => list.items.some((e: CoreV1Event) => e.reason === 'ErrImageNeverPull'),
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const event = events.items.find((e) => e.reason === 'ErrImageNeverPull');
    expect(event?.type).toBe('Warning');
    expect(event?.message).toContain(image);
  });
});
