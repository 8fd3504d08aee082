/**
 * The demo: one full job (prepare_job, steps, a JavaScript action, a container step, cleanup_job)
 * through the runner simulator against the local cluster, told as it happens.
 *
 *   bash scripts/demo.sh [--mode volume|copy] [--env KEY=VALUE]... [--no-cache] [--keep]
 *
 * The job clones the build cache `conan-demo` (seeded by an operator with `zfs-clone seed`) at
 * /CONAN_HOME, adds to it and promotes it; `--no-cache` runs it without. `--env` adds to the job
 * container's `container.env` (how workflows configure the hook); `--keep` leaves the namespace
 * for inspection. Exits non-zero if anything failed.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig, type V1PersistentVolume } from '@kubernetes/client-node';
import { runDemoJob } from './demo-job.js';
import { heading, hookOutput, printEntry, printSummary, say } from './demo-report.js';
import { DEFAULT_HOOK_PATH } from './runner.js';
import type { WorkMode } from './runner-pod.js';
import { startRunnerSimulator } from './start.js';
import { hookRoleYaml } from '../cluster/hook-role.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const clusterDir = process.env['ZRH_CLUSTER_DIR'] ?? '/tmp/zrh-cluster';

function parseOptions(argv: string[]): { mode: WorkMode; containerEnv: Record<string, string>; keep: boolean; cache: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string', default: 'volume' },
      env: { type: 'string', multiple: true, default: [] },
      keep: { type: 'boolean', default: false },
      'no-cache': { type: 'boolean', default: false },
    },
  });
  if (values.mode !== 'volume' && values.mode !== 'copy') throw new Error(`--mode must be volume or copy, got "${values.mode}"`);
  const containerEnv: Record<string, string> = {};
  for (const pair of values.env) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--env expects KEY=VALUE, got "${pair}"`);
    containerEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { mode: values.mode, containerEnv, keep: values.keep, cache: !values['no-cache'] };
}

function runScript(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync('bash', [join(repoRoot, script), ...args], { env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${script} failed (exit ${String(result.status ?? result.signal)})`);
  return result.stdout.trim().split('\n').pop() ?? '';
}

/** The host folder of a host-path CSI volume of this cluster. */
function volumeDir(pv: V1PersistentVolume): string {
  const attribute = pv.spec?.csi?.volumeAttributes?.['hostPath'];
  if (attribute) return attribute;
  const handle = pv.spec?.csi?.volumeHandle;
  if (!handle) throw new Error(`PersistentVolume ${pv.metadata?.name ?? '?'} is not a CSI volume`);
  return join(clusterDir, 'csi-hostpath', 'volumes', handle);
}

/** Hook settings (`ZRH_*`) from this process's env, passed on as the runner pod's env. */
function hookSettings(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('ZRH_') && e[1] !== undefined && !e[0].startsWith('ZRH_CLUSTER')),
  );
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (!existsSync(DEFAULT_HOOK_PATH)) {
    throw new Error(`the hook bundle ${DEFAULT_HOOK_PATH} is missing: build it with \`pnpm -r run build\``);
  }

  heading('Local cluster');
  const adminPath = runScript('test/cluster/up.sh', [], { ...process.env, ZRH_NODE_MODE: process.env['ZRH_NODE_MODE'] ?? 'real' });
  const admin = new KubeConfig();
  admin.loadFromFile(adminPath);
  const core = admin.makeApiClient(CoreV1Api);
  say(`  API ${admin.getCurrentCluster()?.server ?? '?'}; nodes: ${(await core.listNode()).items.map((n) => n.metadata?.name).join(', ')}`);

  heading("Namespace and the hook's identity");
  const namespace = `zrh-demo-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const scratch = mkdtempSync(join(tmpdir(), 'zrh-demo-'));
  const hookKubeconfig = join(scratch, 'hook.kubeconfig');
  const hookRoleFile = join(scratch, 'hook-role.yaml');
  writeFileSync(hookRoleFile, hookRoleYaml(namespace, ['conan-demo']));
  runScript('test/cluster/sa-kubeconfig.sh', [namespace, 'hook', hookRoleFile, hookKubeconfig]);
  say(`  namespace ${namespace}; the hook runs as ServiceAccount "hook" with deploy/rbac/hook-role.yaml (never admin)`);

  const zfsClone = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'packages/zfs-clone/lib/cli/main.js'), '-n', namespace, ...args], {
      env: { ...process.env, KUBECONFIG: adminPath },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`zfs-clone ${args.join(' ')} failed (exit ${String(r.status)}): ${r.stderr}`);
    return r.stdout.trimEnd();
  };
  if (options.cache) {
    heading('Build cache (what an operator does once)');
    await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name: 'conan-seed' },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'csi-hostpath', resources: { requests: { storage: '20Mi' } } },
      },
    });
    let seedPv: V1PersistentVolume | undefined;
    for (let i = 0; i < 120 && !seedPv; i++) {
      const claim = await core.readNamespacedPersistentVolumeClaim({ name: 'conan-seed', namespace });
      if (claim.status?.phase === 'Bound' && claim.spec?.volumeName) seedPv = await core.readPersistentVolume({ name: claim.spec.volumeName });
      else await new Promise((r) => setTimeout(r, 500));
    }
    if (!seedPv) throw new Error('the seed PVC conan-seed did not bind');
    const seedDir = volumeDir(seedPv);
    mkdirSync(join(seedDir, 'p'), { recursive: true });
    writeFileSync(join(seedDir, 'p', 'zlib.txt'), 'zlib/1.3 from the seed\n');
    say('  PVC conan-seed filled with a Conan-like store (p/zlib.txt)');
    for (const line of zfsClone('seed', 'conan-demo', '--from-pvc', 'conan-seed', '--repository', 'octo-org/hello').split('\n'))
      say(`  $ zfs-clone seed: ${line}`);
    options.containerEnv['ZFS_CLONE_SOURCE'] ??= 'cache:conan-demo';
    options.containerEnv['ZFS_CLONE_PROMOTE'] ??= 'true';
    say(
      `  the job's container.env: ${Object.entries(options.containerEnv)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  }

  let allOk = false;
  try {
    heading(`Runner pod (${options.mode} mode)`);
    const runner = await startRunnerSimulator({
      admin,
      hookKubeConfig: hookKubeconfig,
      namespace,
      mode: options.mode,
      placement: 'real',
      volumeDir,
      runnerEnv: hookSettings(),
      onOutput: hookOutput,
    });
    try {
      const { pod, layout } = runner;
      say(
        `  ${pod.name} on node ${pod.nodeName}${pod.claimName ? `, work claim ${pod.claimName} → ${pod.volume?.metadata?.name ?? '?'}` : ', no work volume'}`,
      );
      say(`  _work on this host: ${layout.workDir}${runner.workDataDir === layout.workDir ? '' : ` → ${runner.workDataDir}`}`);
      say(`  hook: node ${DEFAULT_HOOK_PATH}`);

      const listObjects = async (when: string) => {
        const selector = { namespace, labelSelector: `runner-pod=${pod.name}` };
        const pods = (await core.listNamespacedPod(selector)).items;
        const secrets = (await core.listNamespacedSecret(selector)).items;
        // A job's clone is owned by its job pod; a promoted clone is owned by the cache's snapshot
        // it backs (ZFS: a volume takes its snapshots with it) and is the cache's, not a leftover.
        const claims = (await core.listNamespacedPersistentVolumeClaim(selector)).items.filter(
          (c) => c.metadata?.name !== pod.claimName && !c.metadata?.ownerReferences?.some((o) => o.kind === 'VolumeSnapshot'),
        );
        say(`  objects labelled runner-pod=${pod.name} ${when}:`);
        for (const p of pods)
          say(
            `    pod ${p.metadata?.name} on ${p.spec?.nodeName ?? '?'}: ${p.spec?.containers.map((c) => `${c.name}(${c.image})`).join(', ')} — ${p.status?.phase}`,
          );
        for (const s of secrets) say(`    secret ${s.metadata?.name} (${s.type})`);
        for (const c of claims) say(`    claim ${c.metadata?.name} (${c.status?.phase})`);
        if (pods.length + secrets.length + claims.length === 0) say('    (none)');
        return pods.length + secrets.length + claims.length;
      };

      heading('Job');
      const entries = await runDemoJob(runner.simulator, {
        containerEnv: options.containerEnv,
        onStart: (title) => say(`\n  ▶ ${title}`),
        onEntry: printEntry,
        afterPrepare: async () => {
          await listObjects('after prepare_job');
          say(`  state: ${JSON.stringify(runner.simulator.state)}`);
        },
      });
      heading('After cleanup_job');
      // Deleted pods take their grace period to go; wait for them (bounded) before counting.
      const goneBy = Date.now() + 60_000;
      while (Date.now() < goneBy && (await core.listNamespacedPod({ namespace, labelSelector: `runner-pod=${pod.name}` })).items.length > 0) {
        await new Promise((r) => setTimeout(r, 500));
      }
      const left = await listObjects('after cleanup_job');
      let cacheOk = true;
      if (options.cache) {
        say('\n  $ zfs-clone list');
        for (const line of zfsClone('list').split('\n')) say(`    ${line}`);
        const { generation, head } = JSON.parse(zfsClone('status', 'conan-demo', '-o', 'json')) as { generation: number; head: string };
        cacheOk = generation === 2;
        say(
          cacheOk
            ? `  ✔ the job promoted its clone: cache conan-demo is at generation 2 (${head})`
            : `  ✘ cache conan-demo is at generation ${generation}, expected 2 after the promotion`,
        );
      }
      allOk = printSummary(entries) && left === 0 && cacheOk;
      if (left > 0) say('  ✘ cleanup_job left objects behind');
    } finally {
      await runner.dispose();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    if (options.keep) say(`\n  namespace ${namespace} kept`);
    else await core.deleteNamespace({ name: namespace });
  }
  say();
  say(allOk ? 'Demo finished: everything worked.' : 'Demo finished with failures (see ✘ above).');
  return allOk ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
