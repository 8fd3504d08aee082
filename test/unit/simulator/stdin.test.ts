import { describe, expect, it } from 'vitest';
import { planStepFileCommands } from '../../simulator/file-commands.js';
import { buildScriptStepEnv, defaultJobFacts } from '../../simulator/step-env.js';
import {
  buildContainerStepContainer,
  cleanupJobInput,
  prepareJobInput,
  registryServerOf,
  scriptStepInput,
  serializeHookInput,
  splitEntryPointArgs,
  type PrepareJobArgs,
} from '../../simulator/stdin.js';
import { planWorkLayout } from '../../simulator/work-layout.js';

const layout = planWorkLayout({
  workDir: '/home/runner/_work',
  externalsDir: '/home/runner/externals',
  repository: 'octo-org/hello',
});
const responseFile = '/home/runner/_work/_temp/_runner_hook_responses/0b5f.json';

describe('prepareJobInput', () => {
  const input = prepareJobInput(layout, responseFile, { image: 'zrh.local/debian:12-1', env: { NODE_ENV: 'development', lower_case: 'x', MixedCase: 'y' } }, [
    { image: 'redis:7', ports: ['6379:6379'], credentials: { username: 'u', password: 'p' } },
  ]);

  it('writes the job container like the runner: camelCase fields in order, nulls present', () => {
    expect(input).toEqual({
      command: 'prepare_job',
      responseFile,
      args: {
        container: {
          image: 'zrh.local/debian:12-1',
          dockerfile: null,
          entryPointArgs: [],
          entryPoint: null,
          workingDirectory: '/__w/hello/hello',
          createOptions: null,
          registry: null,
          environmentVariables: { NODE_ENV: 'development', lower_case: 'x', MixedCase: 'y', HOME: '/github/home' },
          portMappings: [],
          systemMountVolumes: [
            { userProvidedValue: null, sourceVolumePath: '/var/run/docker.sock', targetVolumePath: '/var/run/docker.sock', readOnly: false },
            { userProvidedValue: null, sourceVolumePath: '/home/runner/_work', targetVolumePath: '/__w', readOnly: false },
            { userProvidedValue: null, sourceVolumePath: '/home/runner/externals', targetVolumePath: '/__e', readOnly: true },
            { userProvidedValue: null, sourceVolumePath: '/home/runner/_work/_temp', targetVolumePath: '/__w/_temp', readOnly: false },
            { userProvidedValue: null, sourceVolumePath: '/home/runner/_work/_actions', targetVolumePath: '/__w/_actions', readOnly: false },
            { userProvidedValue: null, sourceVolumePath: '/home/runner/_work/_tool', targetVolumePath: '/__w/_tool', readOnly: false },
            { userProvidedValue: null, sourceVolumePath: '/home/runner/_work/_temp/_github_home', targetVolumePath: '/github/home', readOnly: false },
            { userProvidedValue: null, sourceVolumePath: '/home/runner/_work/_temp/_github_workflow', targetVolumePath: '/github/workflow', readOnly: false },
          ],
          userMountVolumes: [],
        },
        services: [
          {
            image: 'redis:7',
            dockerfile: null,
            entryPointArgs: [],
            entryPoint: null,
            workingDirectory: null,
            createOptions: null,
            registry: { username: 'u', password: 'p', serverUrl: '' },
            environmentVariables: {},
            portMappings: ['6379:6379'],
            systemMountVolumes: [],
            userMountVolumes: [],
          },
        ],
      },
      state: null,
    });
    expect(Object.keys(input)).toEqual(['command', 'responseFile', 'args', 'state']);
    expect(Object.keys(input.args)).toEqual(['container', 'services']);
  });

  it('keeps env names as written and puts every null into the JSON', () => {
    const json = serializeHookInput(input);
    expect(json).toContain('"environmentVariables":{"NODE_ENV":"development","lower_case":"x","MixedCase":"y","HOME":"/github/home"}');
    expect(json).toContain('"dockerfile":null,"entryPointArgs":[],"entryPoint":null');
    expect(json).toContain('"state":null');
    expect(json).not.toContain('contextName');
  });

  it('parses user volumes and passes options and service commands through', () => {
    const withExtras = prepareJobInput(
      layout,
      responseFile,
      { image: 'debian:12', volumes: ['/data:/data:ro', 'cache:/cache', '/scratch'], options: '--cpus 1 --user 1001' },
      [{ image: 'ghcr.io/acme/db:1', entrypoint: '/bin/db', command: 'serve --port  5432' }],
    );
    const args = withExtras.args as PrepareJobArgs;
    expect(args.container?.userMountVolumes).toEqual([
      { userProvidedValue: '/data:/data:ro', sourceVolumePath: '/data', targetVolumePath: '/data', readOnly: true },
      { userProvidedValue: 'cache:/cache', sourceVolumePath: 'cache', targetVolumePath: '/cache', readOnly: false },
      { userProvidedValue: '/scratch', sourceVolumePath: null, targetVolumePath: '/scratch', readOnly: false },
    ]);
    expect(args.container?.createOptions).toBe('--cpus 1 --user 1001');
    expect(args.services[0]?.entryPoint).toBe('/bin/db');
    expect(args.services[0]?.entryPointArgs).toEqual(['serve', '--port', '', '5432']);
  });
});

describe('registryServerOf', () => {
  it.each([
    ['redis', ''],
    ['library/redis:7', ''],
    ['octo/app:1', ''],
    ['ghcr.io/octo/app:1', 'ghcr.io'],
    ['zrh.local/busybox:1', 'zrh.local'],
    ['localhost/app', 'localhost'],
    ['127.0.0.1:5000/app', '127.0.0.1:5000'],
  ])('%s → %j', (image, server) => {
    expect(registryServerOf(image)).toBe(server);
  });
});

describe('scriptStepInput', () => {
  const fileCommands = planStepFileCommands(layout, '6a1f');
  const env = buildScriptStepEnv({
    layout,
    facts: defaultJobFacts('octo-org/hello', 'runner-abc'),
    fileCommands,
    actionId: '__run',
    env: { GREETING: 'it\'s $HOME\n"quoted" ✓' },
  });

  it('splits a bash step on single spaces, as the runner does', () => {
    const input = scriptStepInput(
      responseFile,
      {
        entryPoint: 'bash',
        entryPointArgs: '--noprofile --norc -e -o pipefail /__w/_temp/6a1f.sh',
        environmentVariables: env,
        prependPath: ['/__w/_tool/go/bin', '/opt/bin'],
        workingDirectory: '/__w/hello/hello',
      },
      { version: 1 },
    );
    expect(input.args).toEqual({
      entryPointArgs: ['--noprofile', '--norc', '-e', '-o', 'pipefail', '/__w/_temp/6a1f.sh'],
      entryPoint: 'bash',
      environmentVariables: env,
      prependPath: ['/__w/_tool/go/bin', '/opt/bin'],
      workingDirectory: '/__w/hello/hello',
    });
    expect(Object.keys(input.args)).toEqual(['entryPointArgs', 'entryPoint', 'environmentVariables', 'prependPath', 'workingDirectory']);
    expect(input.state).toEqual({ version: 1 });
  });

  it('keeps the literal quotes around a JavaScript action path', () => {
    const input = scriptStepInput(
      responseFile,
      {
        entryPoint: '/__e/node20/bin/node',
        entryPointArgs: '"/__w/_actions/zrh-test/greet/v1/dist/index.js"',
        environmentVariables: env,
        prependPath: [],
        workingDirectory: '/__w/hello/hello',
      },
      null,
    );
    expect(input.args).toMatchObject({ entryPointArgs: ['"/__w/_actions/zrh-test/greet/v1/dist/index.js"'] });
  });

  it('points the file commands at container paths', () => {
    expect(env).toMatchObject({
      GITHUB_ENV: '/__w/_temp/_runner_file_commands/set_env_6a1f',
      GITHUB_OUTPUT: '/__w/_temp/_runner_file_commands/set_output_6a1f',
      GITHUB_PATH: '/__w/_temp/_runner_file_commands/add_path_6a1f',
      GITHUB_STATE: '/__w/_temp/_runner_file_commands/save_state_6a1f',
      GITHUB_STEP_SUMMARY: '/__w/_temp/_runner_file_commands/step_summary_6a1f',
      GITHUB_WORKSPACE: '/__w/hello/hello',
      GITHUB_EVENT_PATH: '/github/workflow/event.json',
      RUNNER_TEMP: '/__w/_temp',
      RUNNER_TOOL_CACHE: '/__w/_tool',
      GITHUB_ACTION: '__run',
    });
  });
});

describe('splitEntryPointArgs', () => {
  it.each([
    ['-e x', ['-e', 'x']],
    ['-e  x', ['-e', '', 'x']],
    [' a ', ['', 'a', '']],
    ['', ['']],
  ])('%j → %j', (args, expected) => {
    expect(splitEntryPointArgs(args)).toEqual(expected);
  });
});

describe('buildContainerStepContainer', () => {
  it('quotes each action arg, then splits on spaces like the runner', () => {
    const container = buildContainerStepContainer(layout, {
      image: 'zrh.local/busybox:1',
      entryPoint: null,
      args: ['hello world', 'say "hi"'],
      environmentVariables: { INPUT_WHO: 'me' },
    });
    expect(container.entryPointArgs).toEqual(['"hello', 'world"', '"say', '\\"hi\\""']);
    expect(container.entryPoint).toBeNull();
    expect(container.workingDirectory).toBe('/github/workspace');
    expect(container.systemMountVolumes.map((m) => [m.sourceVolumePath, m.targetVolumePath])).toEqual([
      ['/var/run/docker.sock', '/var/run/docker.sock'],
      ['/home/runner/_work/_temp/_github_home', '/github/home'],
      ['/home/runner/_work/_temp/_github_workflow', '/github/workflow'],
      ['/home/runner/_work/_temp/_runner_file_commands', '/github/file_commands'],
      ['/home/runner/_work/hello/hello', '/github/workspace'],
      ['/home/runner/_work/_temp', '/github/runner_temp'],
    ]);
  });
});

describe('serializeHookInput', () => {
  it('writes one line of compact JSON that parses back to the input', () => {
    const input = cleanupJobInput(responseFile, { jobPod: 'runner-abc-job-1234abcd', note: 'a\nb' });
    const text = serializeHookInput(input);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(text)).toEqual(input);
  });

  it('escapes the line separators Newtonsoft.Json escapes, and nothing else', () => {
    const text = serializeHookInput(cleanupJobInput(responseFile, { v: 'a\u2028b\u2029c\u0085d ✓ \u001b' }));
    expect(text).toContain('"v":"a\\u2028b\\u2029c\\u0085d ✓ \\u001b"');
  });

  it('sends cleanup_job with empty args and a null state when there is none', () => {
    expect(serializeHookInput(cleanupJobInput(responseFile, undefined))).toBe(
      `{"command":"cleanup_job","responseFile":"${responseFile}","args":{},"state":null}\n`,
    );
  });
});
