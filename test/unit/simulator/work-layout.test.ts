import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toContainerPath } from '../../simulator/container-paths.js';
import { layOutWork, type WorkLayout } from '../../simulator/work-layout.js';

const run = promisify(execFile);

describe('layOutWork', () => {
  let root: string;
  let layout: WorkLayout;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'zrh-layout-'));
    layout = await layOutWork({
      workDir: join(root, '_work'),
      externalsDir: join(root, 'externals'),
      repository: 'octo-org/hello',
      owner: null,
    });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('lays out _work like the runner', async () => {
    expect((await readdir(layout.workDir)).sort()).toEqual(['_actions', '_temp', '_tool', 'hello']);
    expect((await readdir(layout.tempDir)).sort()).toEqual(['_github_home', '_github_workflow', '_runner_file_commands', '_runner_hook_responses']);
    expect(layout.workspace).toBe(join(root, '_work/hello/hello'));
    expect(await readFile(join(layout.workspace, 'README.md'), 'utf8')).toContain('# sample');
    const event = JSON.parse(await readFile(layout.eventPath, 'utf8')) as { repository: { full_name: string } };
    expect(event.repository.full_name).toBe('octo-org/hello');
  });

  it('ships a node in externals that runs the sample action', async () => {
    expect((await stat(join(layout.externalsDir, 'node20/bin/node'))).mode & 0o111).not.toBe(0);
    const output = join(root, 'out');
    const { stdout } = await run(join(layout.externalsDir, 'node20/bin/node'), [layout.action.entry], {
      env: { 'INPUT_WHO-TO-GREET': 'Mona', GITHUB_OUTPUT: output },
    });
    expect(stdout).toBe('Hello, Mona!\n');
    expect(await readFile(output, 'utf8')).toMatch(/^greeting=Hello, Mona!\nnode-version=v\d+/);
  });

  it('maps runner paths to the paths a job container sees', () => {
    expect(toContainerPath(layout, layout.workspace)).toBe('/__w/hello/hello');
    expect(toContainerPath(layout, layout.eventPath)).toBe('/github/workflow/event.json');
    expect(toContainerPath(layout, layout.githubHome)).toBe('/github/home');
    expect(toContainerPath(layout, layout.action.entry)).toBe('/__w/_actions/zrh-test/greet/v1/dist/index.js');
    expect(toContainerPath(layout, join(layout.externalsDir, 'node20/bin/node'))).toBe('/__e/node20/bin/node');
    expect(toContainerPath(layout, '/elsewhere')).toBe('/elsewhere');
  });
});
