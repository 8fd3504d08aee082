/**
 * A workflow's `container.options` and env values against the real node: options that would widen
 * what the job grants itself fail prepare_job (and run_container_step) before anything is created,
 * the runner's settings and the hook template decide what is granted, and env values arrive in the
 * job, service and container-step containers byte for byte (no `$(NAME)` expansion by the kubelet).
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyKubeConfig } from '../../fault-proxy/kubeconfig.js';
import { adminKubeClient, execText } from '../node/real-node.js';
import type { HookCall } from '../../simulator/runner.js';
import type { StartedRunner } from '../../simulator/start.js';
import { buildContainerStepContainer, containerStepInput, type WorkflowContainer } from '../../simulator/stdin.js';
import { createHookSuite, IMAGES, jobPodOf, labelledObjects, names, output, startRunner, type HookSuite } from './helpers.js';

/** Every object in the suite's namespace, as `kind/name@uid`, to prove a refused call created nothing. */
async function namespaceObjects(suite: HookSuite): Promise<string[]> {
  const q = { namespace: suite.namespace };
  const lists = await Promise.all([
    suite.core.listNamespacedPod(q).then((l) => l.items.map((o) => ['pod', o] as const)),
    suite.core.listNamespacedSecret(q).then((l) => l.items.map((o) => ['secret', o] as const)),
    suite.core.listNamespacedPersistentVolumeClaim(q).then((l) => l.items.map((o) => ['pvc', o] as const)),
    suite.core.listNamespacedConfigMap(q).then((l) => l.items.map((o) => ['configmap', o] as const)),
    suite.core.listNamespacedService(q).then((l) => l.items.map((o) => ['service', o] as const)),
  ]);
  return lists
    .flat()
    .map(([kind, o]) => `${kind}/${o.metadata?.name ?? '?'}@${o.metadata?.uid ?? '?'}`)
    .sort();
}

/** What a hook call printed, on one line per workflow command (`%0A` is a newline in `::error::`). */
const printed = (call: HookCall) => `${call.stdout}${call.stderr}`.replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%');

/** Writes a hook template file and returns its path. */
async function templateFile(dir: string, name: string, yaml: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, yaml);
  return path;
}

describe('container.options that widen privileges are refused before anything is created', () => {
  let suite: HookSuite;
  let runner: StartedRunner;

  beforeAll(async () => {
    suite = await createHookSuite('hook-hostile-opts');
    runner = await startRunner(suite, 'copy');
  });
  afterAll(async () => {
    await runner?.dispose();
    await suite?.ns.delete();
  });

  it.each<[string, (runnerPod: string) => { job?: string; service?: string }, string[]]>([
    [
      '--cap-add SYS_ADMIN',
      () => ({ job: '--cap-add SYS_ADMIN' }),
      ['--cap-add SYS_ADMIN: the runner does not allow adding SYS_ADMIN', 'add SYS_ADMIN to ZRH_ALLOWED_CAPABILITIES'],
    ],
    ['--cap-add ALL', () => ({ job: '--cap-add=ALL' }), ['--cap-add ALL: the runner does not allow adding ALL', 'ZRH_ALLOWED_CAPABILITIES']],
    ['--privileged', () => ({ job: '--cpus 1 --privileged' }), ['--privileged: the runner does not allow privileged options; set ZRH_ALLOW_PRIVILEGED=true']],
    [
      '--security-opt seccomp=unconfined',
      () => ({ job: '--security-opt seccomp=unconfined' }),
      ['--security-opt seccomp=unconfined:', 'ZRH_ALLOW_PRIVILEGED=true'],
    ],
    ['--user 0', () => ({ job: '--user 0' }), ['--user 0: the runner does not allow user or group 0 (root); set ZRH_ALLOW_ROOT_USER=true']],
    ['--user root', () => ({ job: '-u root' }), ['--user root:', 'ZRH_ALLOW_ROOT_USER=true']],
    ['--user 1001:0', () => ({ job: '--user 1001:0' }), ['--user 1001:0:', 'ZRH_ALLOW_ROOT_USER=true']],
    [
      '--label runner-pod=<another runner>',
      (pod) => ({ job: `--label runner-pod=${pod}-other` }),
      ["runner-pod is one of the hook's own labels", 'which a workflow may never set'],
    ],
    ['--label team=ci', () => ({ job: '--label team=ci' }), ['--label team=ci: the runner does not allow the label key team', 'ZRH_ALLOWED_LABELS']],
    [
      'a service with --cap-add NET_ADMIN',
      () => ({ service: '--cap-add NET_ADMIN' }),
      ['Options of the service busybox are not allowed', '--cap-add NET_ADMIN:', 'ZRH_ALLOWED_CAPABILITIES'],
    ],
  ])('%s fails prepare_job with the option and the setting named, and creates nothing', async (_, options, messages) => {
    const { job, service } = options(runner.pod.name);
    const before = await namespaceObjects(suite);
    const services: WorkflowContainer[] = service === undefined ? [] : [{ image: IMAGES.busybox, entrypoint: 'sleep', command: '3600', options: service }];
    const call = await runner.simulator.prepareJob({ image: IMAGES.busybox, ...(job === undefined ? {} : { options: job }) }, services);
    expect(call.exitCode, output(call)).not.toBe(0);
    const text = printed(call);
    expect(text).toMatch(/::error::Options of the (job container|service busybox) are not allowed/);
    for (const m of messages) expect(text).toContain(m);
    expect(await namespaceObjects(suite)).toEqual(before);
    expect(runner.simulator.state).toBeNull();
  });
});

describe('the runner setting grants a capability; the template drops win over it', () => {
  let suite: HookSuite;
  let dir: string;
  let allowing: StartedRunner;
  let dropping: StartedRunner;

  beforeAll(async () => {
    suite = await createHookSuite('hook-caps');
    dir = await mkdtemp(join(tmpdir(), 'zrh-caps-'));
    const dropAll = await templateFile(
      dir,
      'drop-all.yaml',
      'spec:\n  containers:\n    - name: $job\n      securityContext:\n        capabilities: { drop: [ALL] }\n',
    );
    [allowing, dropping] = await Promise.all([
      startRunner(suite, 'copy', { runnerEnv: { ZRH_ALLOWED_CAPABILITIES: 'NET_ADMIN' } }),
      startRunner(suite, 'copy', { runnerEnv: { ZRH_ALLOWED_CAPABILITIES: 'NET_ADMIN', ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE: dropAll } }),
    ]);
  });
  afterAll(async () => {
    await allowing?.simulator.cleanupJob().catch(() => undefined);
    await Promise.all([allowing?.dispose(), dropping?.dispose()]);
    await suite?.ns.delete();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Whether capability bit `bit` is in the effective set a step of the job container gets. */
  const hasCapability = async (runner: StartedRunner, bit: number): Promise<boolean> => {
    const step = await runner.simulator.runScript('awk \'/^CapEff/ { print "capeff=" $2 }\' /proc/self/status\n');
    expect(step.ok, output(step)).toBe(true);
    const hex = /capeff=([0-9a-f]+)/.exec(step.stdout)?.[1];
    expect(hex, step.stdout).toBeDefined();
    return ((BigInt(`0x${hex ?? '0'}`) >> BigInt(bit)) & 1n) === 1n;
  };

  it('with ZRH_ALLOWED_CAPABILITIES=NET_ADMIN, --cap-add NET_ADMIN reaches the job container', async () => {
    const prepare = await allowing.simulator.prepareJob({ image: IMAGES.busybox, options: '--cap-add NET_ADMIN' });
    expect(prepare.ok, output(prepare)).toBe(true);
    const { pods } = await labelledObjects(suite, allowing.pod.name);
    expect(pods.map((p) => p.spec?.containers.find((c) => c.name === 'job')?.securityContext?.capabilities)).toEqual([{ add: ['NET_ADMIN'] }]);
    expect(await hasCapability(allowing, 12)).toBe(true); // CAP_NET_ADMIN
  });

  it('a template dropping ALL refuses the same option, naming the template, and creates nothing', async () => {
    const before = await namespaceObjects(suite);
    const prepare = await dropping.simulator.prepareJob({ image: IMAGES.busybox, options: '--cap-add NET_ADMIN' });
    expect(prepare.exitCode, output(prepare)).not.toBe(0);
    expect(printed(prepare)).toContain(
      "--cap-add NET_ADMIN: the hook template sets capabilities.drop: [ALL] for this container, and the template's restrictions always win",
    );
    expect(await namespaceObjects(suite)).toEqual(before);
    expect(names(await labelledObjects(suite, dropping.pod.name))).toEqual({ pods: [], secrets: [], claims: [] });
  });

  it('without the option, the template drop leaves the job container no capability at all', async () => {
    const prepare = await dropping.simulator.prepareJob({ image: IMAGES.busybox });
    expect(prepare.ok, output(prepare)).toBe(true);
    const step = await dropping.simulator.runScript('awk \'/^CapEff/ { print "capeff=" $2 }\' /proc/self/status\n');
    expect(step.ok, output(step)).toBe(true);
    expect(step.stdout).toContain('capeff=0000000000000000');
    await dropping.simulator.cleanupJob();
  });
});

/** Env values the kubelet would change if they were written as they are. */
const VALUES: Readonly<Record<string, string>> = {
  Z_PAREN: '$(HOME)',
  // CI comes first in every container's env, so the kubelet would expand this one.
  Z_DEFINED: '$(CI)/$(GITHUB_ACTIONS)',
  Z_DOUBLE: 'pid$$',
  Z_VAR: '$VAR and ${VAR}',
  Z_NEWLINES: 'line 1\nline 2\n',
  Z_EQUALS: 'a=b=c',
  Z_UNICODE: 'grüße — 你好 — 🚀',
  Z_MIXED: '$$(HOME)$(PATH)$',
};
const OPTION_VALUE = '$(HOME)$$x';
const OPTIONS = `-e 'Z_OPTION=${OPTION_VALUE}'`;

/** A POSIX sh script printing each variable as `NAME=<hex bytes>` (or `NAME=UNSET`). */
function printEnvScript(names: readonly string[]): string {
  return (
    [
      `for n in ${names.join(' ')}; do`,
      '  if eval "[ -n \\"\\${$n+x}\\" ]"; then',
      '    eval "v=\\${$n}"',
      `    printf '%s=%s\\n' "$n" "$(printf '%s' "$v" | od -An -tx1 | tr -d ' \\n')"`,
      '  else',
      '    printf \'%s=UNSET\\n\' "$n"',
      '  fi',
      'done',
    ].join('\n') + '\n'
  );
}

/** The variables `printEnvScript` printed, decoded. */
function readPrinted(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^(Z_[A-Z_]+)=([0-9a-f]*|UNSET)$/gm)) {
    out[m[1] as string] = m[2] === 'UNSET' ? '<unset>' : Buffer.from(m[2] as string, 'hex').toString('utf8');
  }
  return out;
}

describe('env values reach every container the hook creates byte for byte', () => {
  let suite: HookSuite;
  let dir: string;
  let runner: StartedRunner;
  let kube: KubeClient;
  let jobPod: string;
  const expected = { ...VALUES, Z_OPTION: OPTION_VALUE };

  beforeAll(async () => {
    suite = await createHookSuite('hook-env');
    dir = await mkdtemp(join(tmpdir(), 'zrh-env-'));
    // The admin's template env is left as written: `$(Z_PAREN)` is expanded by the kubelet, to the
    // workflow's value as the container sees it.
    const template = await templateFile(
      dir,
      'env.yaml',
      "spec:\n  containers:\n    - name: $job\n      env: [{ name: Z_TEMPLATE, value: '$(Z_PAREN)-from-template' }]\n",
    );
    runner = await startRunner(suite, 'volume', { runnerEnv: { ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE: template } });
    kube = await adminKubeClient();
    const prepare = await runner.simulator.prepareJob({ image: IMAGES.busybox, env: VALUES, options: OPTIONS }, [
      { image: IMAGES.busybox, entrypoint: 'sleep', command: '3600', env: VALUES, options: OPTIONS },
    ]);
    if (!prepare.ok) throw new Error(`prepare_job failed:\n${output(prepare)}`);
    jobPod = jobPodOf(runner.simulator.state);
  });
  afterAll(async () => {
    await runner?.simulator.cleanupJob().catch(() => undefined);
    await runner?.dispose();
    await suite?.ns.delete();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the pod spec carries every workflow value with $ doubled, the template value as the admin wrote it', async () => {
    const pod = await suite.core.readNamespacedPod({ namespace: suite.namespace, name: jobPod });
    for (const name of ['job', 'busybox']) {
      const env = pod.spec?.containers.find((c) => c.name === name)?.env ?? [];
      expect(env).toEqual(
        expect.arrayContaining([
          { name: 'Z_PAREN', value: '$$(HOME)' },
          { name: 'Z_OPTION', value: '$$(HOME)$$$$x' },
        ]),
      );
    }
    expect(pod.spec?.containers.find((c) => c.name === 'job')?.env).toContainEqual({ name: 'Z_TEMPLATE', value: '$(Z_PAREN)-from-template' });
  });

  it('a script step in the job container reads every value unchanged', async () => {
    const step = await runner.simulator.runScript(printEnvScript([...Object.keys(expected), 'Z_TEMPLATE']));
    expect(step.ok, output(step)).toBe(true);
    expect(readPrinted(step.stdout)).toEqual({ ...expected, Z_TEMPLATE: '$(HOME)-from-template' });
  });

  it('the service container has every value unchanged', async () => {
    const exec = await execText(kube, { namespace: suite.namespace, pod: jobPod, container: 'busybox' }, ['sh', '-c', printEnvScript(Object.keys(expected))]);
    expect(exec.exitCode, exec.stderr).toBe(0);
    expect(readPrinted(exec.stdout)).toEqual(expected);
  });

  it('a container step gets its env (through the Secret) and its -e options unchanged', async () => {
    const script = join(runner.layout.workspace, 'print-env.sh');
    await writeFile(script, printEnvScript(Object.keys(expected)));
    await chmod(script, 0o755);
    const call = await runner.simulator.call((responseFile) =>
      containerStepInput(
        responseFile,
        {
          ...buildContainerStepContainer(runner.layout, {
            image: IMAGES.busybox,
            entryPoint: 'sh',
            args: ['/github/workspace/print-env.sh'],
            environmentVariables: VALUES,
          }),
          createOptions: OPTIONS,
        },
        runner.simulator.state,
      ),
    );
    expect(call.ok, output(call)).toBe(true);
    expect(readPrinted(call.stdout)).toEqual(expected);
  });

  it('a container step with --privileged fails before its Secret or pod is created', async () => {
    const before = await namespaceObjects(suite);
    const call = await runner.simulator.call((responseFile) =>
      containerStepInput(
        responseFile,
        {
          ...buildContainerStepContainer(runner.layout, { image: IMAGES.busybox, entryPoint: 'true', args: [], environmentVariables: {} }),
          createOptions: '--privileged',
        },
        runner.simulator.state,
      ),
    );
    expect(call.exitCode, output(call)).not.toBe(0);
    expect(printed(call)).toContain(
      'Options of the container step are not allowed:\n  --privileged: the runner does not allow privileged options; set ZRH_ALLOW_PRIVILEGED=true',
    );
    expect(await namespaceObjects(suite)).toEqual(before);
  });
});

describe('every problem of the input is reported at once, before the first request', () => {
  let suite: HookSuite;
  let runner: StartedRunner;
  /** Plays an API server that is down: counts each connection and closes it. */
  let dead: Server;
  let connections = 0;

  beforeAll(async () => {
    suite = await createHookSuite('hook-input-first');
    dead = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const address = dead.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    runner = await startRunner(suite, 'volume', { hookKubeConfig: proxyKubeConfig(suite.hookKubeConfig, `https://127.0.0.1:${port}`) });
  });
  afterAll(async () => {
    await runner?.dispose();
    await new Promise((resolve) => dead?.close(resolve));
    await suite?.ns.delete();
  });

  it('bad ports, refused options of the job container and a service, and a bad cache setting: all four named, and the API server never asked', async () => {
    const call = await runner.simulator.prepareJob(
      { image: IMAGES.busybox, ports: ['80:http'], options: '--privileged', env: { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_PROMOTE: 'maybe' } },
      [{ image: IMAGES.busybox, entrypoint: 'sleep', command: '3600', options: '--cap-add NET_ADMIN' }],
    );
    expect(call.exitCode, output(call)).toBe(1);
    const text = printed(call);
    expect(text).toContain(
      '::error::prepare_job found 4 problems in its input and started nothing (fix them all, then re-run the job):\n1. Invalid ports of job container:',
    );
    expect(text).toContain('\n   Use the docker form [hostPort:]containerPort[/protocol].\n2. ');
    expect(text).toMatch(/\n2\. Options of the job container are not allowed:\n\s+--privileged: the runner does not allow privileged options/);
    expect(text).toMatch(/\n3\. Options of the service busybox are not allowed:\n\s+--cap-add NET_ADMIN:/);
    expect(text).toMatch(/\n4\. Invalid ZFS clone configuration \(1 problem\):\n\s+- container\.env\.ZFS_CLONE_PROMOTE: expected /);
    expect(text).not.toMatch(/cannot reach|ECONNRESET|ECONNREFUSED/);
    expect(connections).toBe(0);
    expect(runner.simulator.state).toBeNull();
  });

  it('one problem is reported as it is', async () => {
    const call = await runner.simulator.prepareJob({ image: IMAGES.busybox, ports: ['99999'] });
    expect(call.exitCode, output(call)).toBe(1);
    expect(printed(call)).toMatch(/::error::Invalid ports of job container:\n\s+/);
    expect(connections).toBe(0);
  });
});
