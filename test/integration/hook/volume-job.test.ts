import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HookCall } from '../../simulator/runner.js';
import type { StartedRunner } from '../../simulator/start.js';
import { createHookSuite, IMAGES, jobPodOf, labelledObjects, names, output, startRunner, type HookSuite } from './helpers.js';

/** Values that break naive quoting: quotes, `$`, backslashes, newlines, unicode. */
const TRICKY_ENV: Record<string, string> = {
  ZRH_QUOTES: `it's "double" and 'single'`,
  ZRH_DOLLAR: '$HOME ${PATH} $(id -u) `id` $$',
  ZRH_NEWLINES: 'line one\nline two\n\ttabbed\r\nend\n',
  ZRH_UNICODE: 'grüße — 你好 — 🚀 \u2028 \u0085',
  ZRH_BACKSLASH: 'C:\\path\\n\\0 \\\\',
  ZRH_EMPTY: '',
  'INPUT_FETCH-DEPTH': '0 "and" $more',
};

/** Parses `env -0` output. */
function parseEnv0(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

describe('a job in volume mode (the runner pod has its work claim; the job pod mounts it)', () => {
  let suite: HookSuite;
  let runner: StartedRunner;
  let prepare: HookCall;

  beforeAll(async () => {
    suite = await createHookSuite('hook-vol');
    runner = await startRunner(suite, 'volume');
    prepare = await runner.simulator.prepareJob({ image: IMAGES.debian, env: { JOB_LEVEL: 'from container.env' }, ports: ['3000'] }, [
      { image: IMAGES.busybox, entrypoint: 'httpd', command: '-f -p 8080 -h /etc', ports: ['8080:8080'] },
      { image: IMAGES.busybox, entrypoint: 'sleep', command: '3600' },
    ]);
  });
  afterAll(async () => {
    await runner?.dispose();
    await suite?.ns.delete();
  });

  it('prepare_job answers with the job container, the services in request order and their ports', () => {
    expect(prepare.ok, output(prepare)).toBe(true);
    const pod = jobPodOf(prepare.stateAfter);
    expect(prepare.response).toMatchObject({
      isAlpine: false,
      context: {
        container: { id: pod, network: pod, ports: { '3000': '3000' } },
        services: [
          { id: 'busybox', network: pod, ports: { '8080': '8080' } },
          { id: 'busybox-2', network: pod, ports: {} },
        ],
      },
    });
  });

  it('the job pod runs on the runner pod node, mounts the work claim, and is labelled and owned by the runner pod', async () => {
    const { pods } = await labelledObjects(suite, runner.pod.name);
    expect(pods.map((p) => p.metadata?.name)).toEqual([jobPodOf(prepare.stateAfter)]);
    const pod = pods[0]!;
    expect(pod.spec?.nodeName).toBe(runner.pod.nodeName);
    expect(pod.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'Pod', name: runner.pod.name, uid: runner.pod.uid })]);
    expect(pod.spec?.volumes?.map((v) => v.persistentVolumeClaim?.claimName)).toContain(runner.pod.claimName);
    expect(pod.spec?.containers.map((c) => c.name)).toEqual(['job', 'busybox', 'busybox-2']);
  });

  it('a script step reaches a service on localhost', async () => {
    const step = await runner.simulator.runScript(
      'exec 3<>/dev/tcp/127.0.0.1/8080\nprintf "GET /hostname HTTP/1.0\\r\\n\\r\\n" >&3\necho "answer: $(head -n 1 <&3)"\n',
      { shell: 'bash' },
    );
    expect(step.ok, output(step)).toBe(true);
    expect(step.stdout).toMatch(/answer: HTTP\/1\.[01] \d{3}/);
  });

  it('passes every environment value byte for byte, hyphenated input names included', async () => {
    // bash (unlike dash) hands variables whose names are not identifiers on to its children.
    const step = await runner.simulator.runScript('env -0 > "$GITHUB_WORKSPACE/env.bin"\n', { shell: 'bash', env: TRICKY_ENV });
    expect(step.ok, output(step)).toBe(true);
    const seen = parseEnv0(await readFile(join(runner.layout.workspace, 'env.bin'), 'utf8'));
    for (const [name, value] of Object.entries(TRICKY_ENV)) expect({ name, value: seen[name] }).toEqual({ name, value });
    expect(seen['JOB_LEVEL']).toBe('from container.env');
    expect(seen['HOME']).toBe('/github/home');
    expect(seen['CI']).toBe('true');
  });

  it('brings every file command back to the runner, a file the runner does not know yet included', async () => {
    const script = [
      'echo "answer=42" >> "$GITHUB_OUTPUT"',
      'printf "MULTI<<EOF\\nline 1\\nline 2 \\$x\\nEOF\\n" >> "$GITHUB_ENV"',
      'mkdir -p /tmp/tools && echo /tmp/tools >> "$GITHUB_PATH"',
      'echo "saved=yes" >> "$GITHUB_STATE"',
      'echo "### summary ✓" >> "$GITHUB_STEP_SUMMARY"',
      'echo "artifact-a" >> "$GITHUB_ARTIFACTS"',
      'echo "future" > "$(dirname "$GITHUB_OUTPUT")/future_command_x"',
    ].join('\n');
    const step = await runner.simulator.runScript(`${script}\n`);
    expect(step.ok, output(step)).toBe(true);
    expect(step.fileCommands.outputs).toEqual({ answer: '42' });
    expect(step.fileCommands.env).toEqual({ MULTI: 'line 1\nline 2 $x' });
    expect(step.fileCommands.path).toEqual(['/tmp/tools']);
    expect(step.fileCommands.state).toEqual({ saved: 'yes' });
    expect(step.fileCommands.summary).toBe('### summary ✓\n');
    expect(step.fileCommands.raw.GITHUB_ARTIFACTS).toBe('artifact-a\n');
    await expect(readFile(join(runner.layout.fileCommandsDir, 'future_command_x'), 'utf8')).resolves.toBe('future\n');

    const next = await runner.simulator.runScript('printf "%s|%s" "$MULTI" "$PATH" > "$GITHUB_WORKSPACE/next.txt"\n');
    expect(next.ok, output(next)).toBe(true);
    const [multi, path] = (await readFile(join(runner.layout.workspace, 'next.txt'), 'utf8')).split('|');
    expect(multi).toBe('line 1\nline 2 $x');
    expect(path?.split(':')[0]).toBe('/tmp/tools');
  });

  it("a failing step makes the hook exit with the step's own exit code", async () => {
    const step = await runner.simulator.runScript('echo "about to fail"\nexit 3\n');
    expect(step.exitCode, output(step)).toBe(3);
    expect(step.stdout).toContain('about to fail');
  });

  it('runs a JavaScript action from its quoted path with the externals node', async () => {
    const step = await runner.simulator.runJsAction({ inputs: { 'who-to-greet': 'Mona "the" $Octocat' } });
    expect(step.ok, output(step)).toBe(true);
    expect(step.input.args).toMatchObject({ entryPointArgs: [expect.stringMatching(/^".*index\.js"$/)] });
    expect(step.fileCommands.outputs['greeting']).toBe('Hello, Mona "the" $Octocat!');
    expect(step.fileCommands.outputs['node-version']).toMatch(/^v20\./);
  });

  it('runs the step in its working directory', async () => {
    const step = await runner.simulator.runScript('pwd\ncat hello.sh\n', { workingDirectory: 'src' });
    expect(step.ok, output(step)).toBe(true);
    expect(step.stdout).toContain('/__w/hello/hello/src');
    expect(step.stdout).toContain('hello from the workspace');
  });

  it('cleanup_job removes the job pod and leaves nothing labelled with the runner pod', async () => {
    const cleanup = await runner.simulator.cleanupJob();
    expect(cleanup.ok, output(cleanup)).toBe(true);
    expect(names(await labelledObjects(suite, runner.pod.name))).toEqual({ pods: [], secrets: [], claims: [] });
    const again = await runner.simulator.cleanupJob();
    expect(again.ok, output(again)).toBe(true);
  });
});
