/**
 * Helpers for tests against the real node of the local test cluster (`test/node/up.sh`): pods
 * pinned to it with the locally built images, waiting for pod phases, and the project's own
 * Kubernetes client for exec and logs.
 */
import { Writable } from 'node:stream';
import { CoreV1Api, type V1Pod, type V1PodSpec } from '@kubernetes/client-node';
import { createKubeClient, loadKubeConfigFile, type KubeClient } from '@zfs-runner-hooks/kube';
import { adminKubeConfig, cluster, waitFor } from '../../cluster/harness.js';

/** Label of the real node (kwok's fake nodes lack it). */
export const REAL_NODE_LABEL = 'zrh.dev/real-node';

/** The locally built images (test/images/defs), imported on the real node. */
export const IMAGES = {
  busybox: 'zrh.local/busybox:1',
  debian: 'zrh.local/debian:12-1',
  debianNonRoot: 'zrh.local/debian-nonroot:12-1',
  /** busybox with ENTRYPOINT /entrypoint.sh and CMD from-cmd (test/images/defs/entrypoint.sh). */
  entrypoint: 'zrh.local/entrypoint:1',
  /** busybox with /etc/alpine-release (test/images/defs/alpine-release.sh). */
  alpineRelease: 'zrh.local/alpine-release:1',
  /** busybox with attack scripts against copy-mode copy-back (test/images/defs/hostile-copy.sh). */
  hostileCopy: 'zrh.local/hostile-copy:1',
  /** busybox with attack scripts against the hook's response file and state (test/images/defs/hostile-state.sh). */
  hostileState: 'zrh.local/hostile-state:1',
  pause: 'zrh.local/pause:1',
} as const;

/** The name of the real node; fails with a hint when the cluster runs without one. */
export async function realNodeName(core: CoreV1Api): Promise<string> {
  const nodes = await core.listNode({ labelSelector: `${REAL_NODE_LABEL}=true` });
  const name = nodes.items[0]?.metadata?.name;
  if (name === undefined) {
    throw new Error(
      `No node labelled ${REAL_NODE_LABEL}=true in the test cluster: start it with ZRH_NODE_MODE=real ` +
        '(test/cluster/up.sh) or run test/node/up.sh against the running control plane.',
    );
  }
  return name;
}

/**
 * A pod pinned to the real node that never pulls (`imagePullPolicy: Never` unless a container
 * says otherwise), never restarts and stops within a second.
 */
export function realNodePod(name: string, spec: V1PodSpec, labels: Record<string, string> = {}): V1Pod {
  return {
    metadata: { name, labels },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      automountServiceAccountToken: false,
      ...spec,
      nodeSelector: { ...spec.nodeSelector, [REAL_NODE_LABEL]: 'true' },
      containers: spec.containers.map((c) => ({ imagePullPolicy: 'Never', ...c })),
    },
  };
}

/** Waits until the pod is Running with every container ready and returns it. */
export async function waitForRunningPod(core: CoreV1Api, namespace: string, name: string): Promise<V1Pod> {
  return waitFor(
    `pod ${namespace}/${name} to be Running and ready`,
    () => core.readNamespacedPod({ name, namespace }),
    (p) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).length > 0 && (p.status.containerStatuses ?? []).every((c) => c.ready),
    { timeoutMs: 120_000, intervalMs: 500 },
  );
}

/** The project's Kubernetes client (packages/kube) as the cluster admin. */
export async function adminKubeClient(): Promise<KubeClient> {
  return createKubeClient(await loadKubeConfigFile(cluster().kubeconfig));
}

/** A CoreV1Api client of @kubernetes/client-node as the cluster admin. */
export function adminCoreApi(): CoreV1Api {
  return adminKubeConfig().makeApiClient(CoreV1Api);
}

/** What an exec printed and how it ended. */
export interface ExecOutput {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A Writable that keeps what it was given, as text. */
export class TextSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

/** Runs `command` in a container with the project's client and collects its output. */
export async function execText(
  kube: KubeClient,
  target: { readonly namespace: string; readonly pod: string; readonly container: string },
  command: readonly string[],
  stdin?: Buffer | string,
): Promise<ExecOutput> {
  const stdout = new TextSink();
  const stderr = new TextSink();
  const { exitCode } = await kube.exec({ ...target, command, stdout, stderr, ...(stdin === undefined ? {} : { stdin }) });
  return { exitCode, stdout: stdout.text, stderr: stderr.text };
}
