import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HookCall, RunnerSimulator, StepCall } from './runner.js';

/** A check on what a call produced; `problem` is null when it holds. */
export interface Check {
  readonly what: string;
  readonly problem: string | null;
}

/** One finished part of the demo job. */
export interface DemoEntry {
  readonly title: string;
  readonly call: HookCall | StepCall;
  readonly checks: readonly Check[];
}

/** Settings of the demo job. */
export interface DemoJobOptions {
  /** `container.image`. @default 'zrh.local/debian:12-1' */
  readonly image?: string;
  /**
   * Extra `container.env` of the job container: the channel for per-workflow hook settings
   * (e.g. `ZFS_CLONE_*` for a build cache).
   */
  readonly containerEnv?: Readonly<Record<string, string>>;
  /** Called when a part starts (its hook output follows). */
  readonly onStart?: (title: string) => void;
  /** Called as soon as each part has finished. */
  readonly onEntry?: (entry: DemoEntry) => void | Promise<void>;
  /** Called after prepare_job, before the steps (e.g. to list the objects the hook created). */
  readonly afterPrepare?: () => Promise<void>;
}

function check(what: string, ok: boolean, problem: string): Check {
  return { what, problem: ok ? null : problem };
}

function exitedZero(call: HookCall): Check {
  return check(
    'hook exited 0 with a valid response',
    call.ok,
    `exit ${String(call.exitCode ?? call.signal)}${call.responseProblems.length ? `; ${call.responseProblems.join('; ')}` : ''}`,
  );
}

const WRITE_STEP = `echo "Running in $(cat /etc/debian_version 2>/dev/null && echo Debian) as uid $(id -u) in $PWD"
echo "greeting=hello from $(hostname)" >> "$GITHUB_OUTPUT"
echo "DEMO_COLOR=blue" >> "$GITHUB_ENV"
{ echo 'DEMO_NOTE<<EOF'; echo "it's a \\"quoted\\" \\$value"; echo 'on two lines ✓'; echo 'EOF'; } >> "$GITHUB_ENV"
mkdir -p "$RUNNER_TEMP/demo-bin" && printf '#!/bin/sh\\necho demo tool here\\n' > "$RUNNER_TEMP/demo-bin/demo-tool" && chmod +x "$RUNNER_TEMP/demo-bin/demo-tool"
echo "$RUNNER_TEMP/demo-bin" >> "$GITHUB_PATH"
echo "### Demo step summary" >> "$GITHUB_STEP_SUMMARY"
echo "built at $(date -u +%FT%TZ)" > build-info.txt
`;

const READ_STEP = `echo "DEMO_COLOR=$DEMO_COLOR"
printf 'DEMO_NOTE=%s\\n' "$DEMO_NOTE"
test "$DEMO_COLOR" = blue
demo-tool
cat build-info.txt
exec 3<>/dev/tcp/127.0.0.1/8080
printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' >&3
echo "service answered: $(head -n 1 <&3)"
`;

/** A build step using the cache: reads what the head holds, adds a package. */
const CACHE_STEP = `echo "CONAN_HOME=$CONAN_HOME"
cat "$CONAN_HOME/p/zlib.txt"
ls "$CONAN_HOME/p"
echo "app/1.0 built by job $GITHUB_RUN_ID" > "$CONAN_HOME/p/app-$GITHUB_RUN_ID.txt"
sync
`;

/**
 * Runs the demo job through the simulator: prepare_job (a Debian job container and a busybox
 * httpd service), a bash step writing GITHUB_OUTPUT/GITHUB_ENV/GITHUB_PATH, a step reading them
 * and calling the service on localhost, a JavaScript action, a container step, and cleanup_job
 * (always, like the runner). Returns every part with its checks.
 */
export async function runDemoJob(sim: RunnerSimulator, options: DemoJobOptions = {}): Promise<DemoEntry[]> {
  const entries: DemoEntry[] = [];
  const record = async (title: string, call: HookCall, checks: Check[]) => {
    const entry = { title, call, checks: [exitedZero(call), ...checks] };
    entries.push(entry);
    await options.onEntry?.(entry);
    return entry;
  };
  try {
    const start = (title: string) => {
      options.onStart?.(title);
      return title;
    };
    const prepareTitle = start('prepare_job: job container + 1 service');
    const prepare = await sim.prepareJob({ image: options.image ?? 'zrh.local/debian:12-1', env: { DEMO: '1', ...options.containerEnv } }, [
      { image: 'zrh.local/busybox:1', entrypoint: 'httpd', command: '-f -p 8080 -h /etc', ports: ['8080:8080'] },
    ]);
    const services = (prepare.response?.['context'] as { services?: unknown[] } | undefined)?.services;
    await record(prepareTitle, prepare, [
      check('response names the service', Array.isArray(services) && services.length === 1, `context.services = ${JSON.stringify(services)}`),
    ]);
    if (!prepare.ok) return entries;
    await options.afterPrepare?.();

    const writeTitle = start('run: write GITHUB_OUTPUT / GITHUB_ENV / GITHUB_PATH');
    const write = await sim.runScript(WRITE_STEP, { shell: 'bash', name: 'bash step writing file commands' });
    await record(writeTitle, write, [
      check(
        'GITHUB_OUTPUT has greeting',
        /^hello from /.test(write.fileCommands.outputs['greeting'] ?? ''),
        `outputs = ${JSON.stringify(write.fileCommands.outputs)}`,
      ),
      check(
        'GITHUB_ENV has DEMO_COLOR and a multi-line value',
        write.fileCommands.env['DEMO_COLOR'] === 'blue' && write.fileCommands.env['DEMO_NOTE'] === 'it\'s a "quoted" $value\non two lines ✓',
        `env = ${JSON.stringify(write.fileCommands.env)}`,
      ),
      check('GITHUB_PATH has the tool folder', write.fileCommands.path.length === 1, `path = ${JSON.stringify(write.fileCommands.path)}`),
      check('the step summary came back', write.fileCommands.summary.includes('Demo step summary'), 'summary is empty'),
    ]);

    const readTitle = start('run: read the env, the PATH, the workspace and the service');
    const read = await sim.runScript(READ_STEP, { shell: 'bash', name: 'bash step reading the env' });
    await record(readTitle, read, [
      check('saw DEMO_COLOR=blue', read.stdout.includes('DEMO_COLOR=blue'), 'DEMO_COLOR missing from the output'),
      check('found demo-tool on the PATH', read.stdout.includes('demo tool here'), 'demo-tool did not run'),
      check('the service answered on localhost', read.stdout.includes('service answered: HTTP/1.'), 'no HTTP answer from the service'),
    ]);

    if (options.containerEnv?.['ZFS_CLONE_SOURCE']) {
      const cacheTitle = start('run: build with the cache clone at $CONAN_HOME');
      const build = await sim.runScript(CACHE_STEP, { shell: 'bash', name: 'bash step using the cache' });
      await record(cacheTitle, build, [
        check('CONAN_HOME is the clone mount', build.stdout.includes('CONAN_HOME=/CONAN_HOME'), 'CONAN_HOME not set to /CONAN_HOME'),
        check("the cache head's package is in the clone", build.stdout.includes('zlib/1.3 from the seed'), 'the seeded file is missing from /CONAN_HOME'),
      ]);
    }

    const { action } = sim.layout;
    const jsTitle = start(`uses: ${action.owner}/${action.name}@${action.ref} (JavaScript, node20 from /__e)`);
    const js = await sim.runJsAction({ inputs: { 'who-to-greet': 'Demo' } });
    await record(jsTitle, js, [
      check('output greeting', js.fileCommands.outputs['greeting'] === 'Hello, Demo!', `outputs = ${JSON.stringify(js.fileCommands.outputs)}`),
    ]);

    const containerTitle = start('uses: docker://zrh.local/busybox:1 (container step)');
    const container = await sim.runContainerStep({
      image: 'zrh.local/busybox:1',
      entryPoint: 'sh',
      args: ['/github/workspace/ci/container-step.sh'],
      inputs: { mode: 'demo' },
    });
    const written = await readFile(join(sim.layout.workspace, 'container-step.txt'), 'utf8').catch(() => '');
    await record(containerTitle, container, [
      check('output container=ok', container.fileCommands.outputs['container'] === 'ok', `outputs = ${JSON.stringify(container.fileCommands.outputs)}`),
      check('its workspace change is visible to the runner', written.includes('written by a container step'), 'container-step.txt missing in the workspace'),
    ]);
  } finally {
    options.onStart?.('cleanup_job');
    const cleanup = await sim.cleanupJob();
    await record('cleanup_job', cleanup, []);
  }
  return entries;
}
