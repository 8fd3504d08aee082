import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { mergePodTemplate } from './merge-template.js';
import { parsePodTemplate } from './template.js';

const hookPod = (): V1Pod => ({
  metadata: { name: 'p', labels: { 'runner-pod': 'r' } },
  spec: {
    restartPolicy: 'Never',
    securityContext: { runAsNonRoot: true },
    initContainers: [{ name: 'hook-init', image: 'busybox' }],
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }] },
      },
    },
    containers: [
      {
        name: 'job',
        image: 'node:20',
        env: [{ name: 'A', value: '1' }],
        volumeMounts: [{ name: 'work', mountPath: '/__w' }],
        securityContext: { runAsUser: 1001 },
      },
      { name: 'redis', image: 'redis:7' },
      { name: 'redis-2', image: 'redis:6' },
    ],
    volumes: [{ name: 'work', emptyDir: {} }],
  },
});

const template = await parsePodTemplate(
  `
metadata:
  labels: { team: ci, runner-pod: evil }
  annotations: { a: b }
spec:
  serviceAccountName: builder
  securityContext: { fsGroup: 123 }
  initContainers: [{ name: extra-init, image: alpine }]
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms: [{ matchExpressions: [{ key: zfs, operator: Exists }] }]
  containers:
    - name: $job
      image: ignored
      env: [{ name: CONAN_HOME, value: /CONAN_HOME }]
      volumeMounts: [{ name: conan-home, mountPath: /CONAN_HOME }]
      securityContext: { runAsGroup: 123 }
      resources: { limits: { memory: 4Gi } }
    - name: $redis
      args: [--save, ""]
    - name: sidecar
      image: envoy
  volumes: [{ name: conan-home, emptyDir: {} }]
`,
  'template.yaml',
);

describe('mergePodTemplate', () => {
  const base = hookPod();
  const { pod, warnings } = mergePodTemplate(base, template, { serviceImages: { redis: 'redis:7', 'redis-2': 'redis:6' } });
  const job = pod.spec?.containers[0];

  it("appends $job env and mounts after the hook's own and deep-merges securityContext", () => {
    expect(job?.image).toBe('node:20');
    expect(job?.env?.map((e) => e.name)).toEqual(['A', 'CONAN_HOME']);
    expect(job?.volumeMounts?.map((m) => m.name)).toEqual(['work', 'conan-home']);
    expect(job?.securityContext).toEqual({ runAsUser: 1001, runAsGroup: 123 });
    expect(job?.resources).toEqual({ limits: { memory: '4Gi' } });
  });

  it('merges $<image name> into every service of that image', () => {
    expect(pod.spec?.containers[1]?.args).toEqual(['--save', '']);
    expect(pod.spec?.containers[2]?.args).toEqual(['--save', '']);
  });

  it('adds other containers as sidecars, appends volumes and initContainers, merges pod securityContext', () => {
    expect(pod.spec?.containers.map((c) => c.name)).toEqual(['job', 'redis', 'redis-2', 'sidecar']);
    expect(pod.spec?.volumes?.map((v) => v.name)).toEqual(['work', 'conan-home']);
    expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(['hook-init', 'extra-init']);
    expect(pod.spec?.securityContext).toEqual({ runAsNonRoot: true, fsGroup: 123 });
    expect(pod.spec?.serviceAccountName).toBe('builder');
  });

  it("keeps the hook's labels and ANDs its node pinning into the template's affinity", () => {
    expect(pod.metadata?.labels).toEqual({ team: 'ci', 'runner-pod': 'r' });
    expect(pod.metadata?.annotations).toEqual({ a: 'b' });
    expect(pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'zfs', operator: 'Exists' }], matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] },
    ]);
    expect(warnings).toEqual([]);
  });

  it('does not change its inputs or share arrays between containers', () => {
    expect(base).toEqual(hookPod());
    const again = mergePodTemplate(hookPod(), template, { serviceImages: { redis: 'redis:7', 'redis-2': 'redis:6' } }).pod;
    again.spec?.containers[1]?.args?.push('x');
    expect(again.spec?.containers[2]?.args).toEqual(['--save', '']);
    expect(template.spec?.containers?.[1]).toEqual({ name: '$redis', args: ['--save', ''] });
  });

  it('warns about a $<name> that matches nothing', async () => {
    const t = await parsePodTemplate('spec: { containers: [ { name: $db } ] }', 't');
    expect(mergePodTemplate(hookPod(), t, { serviceImages: {} }).warnings).toEqual([expect.stringContaining('"$db" matches no container')]);
  });
});

describe("mergePodTemplate: the template's restrictions win over the workflow's options", () => {
  const withCaps = (capabilities: Record<string, string[]>): V1Pod => ({
    metadata: { name: 'p', labels: { team: 'from-workflow', 'runner-pod': 'r' } },
    spec: { containers: [{ name: 'job', image: 'node:20', securityContext: { capabilities, privileged: true, runAsUser: 0 } }] },
  });
  const merge = async (yaml: string, capabilities: Record<string, string[]>) =>
    mergePodTemplate(withCaps(capabilities), await parsePodTemplate(yaml, 't'), { serviceImages: {} }).pod;

  it.each<[string, Record<string, string[]>, Record<string, string[]>]>([
    ['{ drop: [ALL] }', { add: ['SYS_ADMIN'] }, { drop: ['ALL'] }],
    ['{ drop: [ALL], add: [NET_BIND_SERVICE] }', { add: ['SYS_ADMIN', 'NET_BIND_SERVICE'] }, { add: ['NET_BIND_SERVICE'], drop: ['ALL'] }],
    ['{ drop: [NET_RAW] }', { add: ['NET_RAW', 'SYS_PTRACE'] }, { add: ['SYS_PTRACE'], drop: ['NET_RAW'] }],
    ['{ drop: [CAP_NET_RAW] }', { add: ['NET_RAW'] }, { drop: ['CAP_NET_RAW'] }],
    ['{ add: [NET_ADMIN] }', { add: ['SYS_PTRACE'], drop: ['MKNOD'] }, { add: ['SYS_PTRACE', 'NET_ADMIN'], drop: ['MKNOD'] }],
    ['{ drop: [MKNOD] }', { drop: ['NET_RAW'] }, { drop: ['NET_RAW', 'MKNOD'] }],
  ])('template capabilities %s over the options %o give %o', async (tpl, options, expected) => {
    const pod = await merge(`spec:\n  containers:\n    - name: $job\n      securityContext: { capabilities: ${tpl} }\n`, options);
    expect(pod.spec?.containers[0]?.securityContext?.capabilities).toEqual(expected);
  });

  it("keeps the options' capabilities when the template has none", async () => {
    const pod = await merge('spec:\n  containers:\n    - name: $job\n      securityContext: { runAsGroup: 1 }\n', { add: ['SYS_PTRACE'] });
    expect(pod.spec?.containers[0]?.securityContext?.capabilities).toEqual({ add: ['SYS_PTRACE'] });
  });

  it('privileged: false, allowPrivilegeEscalation: false and runAsUser of $job replace what the options set', async () => {
    const pod = await merge(
      'spec:\n  containers:\n    - name: $job\n      securityContext: { privileged: false, allowPrivilegeEscalation: false, runAsUser: 1001 }\n',
      {},
    );
    expect(pod.spec?.containers[0]?.securityContext).toMatchObject({ privileged: false, allowPrivilegeEscalation: false, runAsUser: 1001 });
  });

  it("the template's labels win over the workflow's, the hook's own over both", async () => {
    const pod = await merge('metadata:\n  labels: { team: platform, runner-pod: evil }\n', {});
    expect(pod.metadata?.labels).toEqual({ team: 'platform', 'runner-pod': 'r' });
  });
});

describe('parsePodTemplate', () => {
  it.each([
    ['metadata: [', 'is not valid YAML'],
    ['spec: { containers: [ { image: x } ] }', 'spec.containers[0].name: expected string, got nothing'],
    ['metadata: { labels: { a: 1 } }', 'metadata.labels.a: expected string, got number'],
  ])('names the file and the problem for %j', async (text, message) => {
    await expect(parsePodTemplate(text, '/etc/hook/template.yaml')).rejects.toThrowError(
      new RegExp(`/etc/hook/template.yaml[\\s\\S]*${message.replace(/[[\].$]/g, '\\$&')}`),
    );
  });
});
