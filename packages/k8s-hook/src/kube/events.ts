import type { CoreV1Event } from '@kubernetes/client-node';
import { R, type KubeClient } from '@zfs-runner-hooks/kube';

/** One line per Warning event: `FailedScheduling (x3): 0/2 nodes are available: …`. */
export function formatWarningEvents(events: readonly CoreV1Event[]): string[] {
  return [...events]
    .filter((e) => e.type === 'Warning')
    .sort((a, b) => String(a.lastTimestamp ?? a.eventTime ?? '').localeCompare(String(b.lastTimestamp ?? b.eventTime ?? '')))
    .map((e) => `${e.reason ?? 'Warning'}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ''}: ${(e.message ?? '').trim()}`);
}

/** The pod's Warning events as lines; an empty list if they cannot be read (never throws). */
export async function podWarnings(client: KubeClient, namespace: string, pod: string): Promise<string[]> {
  try {
    const list = await client.list<CoreV1Event>({ type: R.events, namespace }, { fieldSelector: `involvedObject.name=${pod},type=Warning` });
    return formatWarningEvents(list.items);
  } catch {
    return [];
  }
}
