import type { KubeClient, KubeList, WatchEvent } from '@zfs-runner-hooks/kube';
import type { Logger } from '../log.js';

/**
 * @deprecated Use `FakeKubeClient` from `@zfs-runner-hooks/kube/testing` (objects, watches, faults,
 * scripted exec); this scripted fake stays only until its last user moves.
 *
 * A KubeClient whose `watch` replays scripted streams (a stream that is an Error makes that watch
 * request fail with it) and whose `list` returns the given events and pods.
 */
export function fakeClient(script: {
  watch?: (WatchEvent<unknown>[] | Error)[];
  get?: unknown;
  events?: unknown[];
  pods?: unknown[];
}): KubeClient & { calls: string[] } {
  const calls: string[] = [];
  const watches = [...(script.watch ?? [])];
  const client = {
    defaultNamespace: 'default',
    calls,
    stats: { byKind: new Map(), total: 0 },
    async get() {
      calls.push('get');
      return script.get;
    },
    async find() {
      calls.push('find');
      return script.get;
    },
    async list(ref: { type: { plural: string } }): Promise<KubeList<unknown>> {
      calls.push(`list ${ref.type.plural}`);
      return { metadata: {}, items: ref.type.plural === 'events' ? (script.events ?? []) : ref.type.plural === 'pods' ? (script.pods ?? []) : [] };
    },
    async watch(_ref: unknown, handler: (e: WatchEvent<unknown>) => boolean | void | Promise<boolean | void>) {
      calls.push('watch');
      const stream = watches.shift() ?? [];
      if (stream instanceof Error) throw stream;
      for (const ev of stream) if (await handler(ev)) return ev.object;
      return undefined;
    },
    async create() {
      throw new Error('not scripted');
    },
    async replace() {
      throw new Error('not scripted');
    },
    async patch() {
      throw new Error('not scripted');
    },
    async delete() {
      return true;
    },
    async exec() {
      throw new Error('not scripted');
    },
    async logs() {
      return '';
    },
    close() {},
  };
  return client as unknown as KubeClient & { calls: string[] };
}

/** A logger that records lines. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(m),
    warning: (m) => lines.push(`warning: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    debug: () => undefined,
    group: async (name, fn) => {
      lines.push(`group: ${name}`);
      return fn();
    },
    mask: () => undefined,
  };
}
