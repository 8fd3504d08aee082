import { mkdtemp, readdir, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStepFileCommands, parseKeyValueFile, readFileCommands } from '../../simulator/file-commands.js';
import { layOutWork, type WorkLayout } from '../../simulator/work-layout.js';

describe('parseKeyValueFile', () => {
  it('reads name=value lines and heredoc blocks like the runner', () => {
    const content = 'A=1\nB=x=y\n\nMULTI<<EOF_1\nline one\nline=two\nEOF_1\nC=\n';
    expect(parseKeyValueFile(content)).toEqual({ A: '1', B: 'x=y', MULTI: 'line one\nline=two', C: '' });
  });

  it('rejects an unterminated block and a line without a name', () => {
    expect(() => parseKeyValueFile('X<<END\nnever closed\n')).toThrow('unterminated "X<<END" block');
    expect(() => parseKeyValueFile('just text\n')).toThrow('invalid file-command line');
  });
});

describe('step file commands', () => {
  let root: string;
  let layout: WorkLayout;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'zrh-fc-'));
    const fakeNode = join(root, 'node');
    await writeFile(fakeNode, '#!/bin/sh\n');
    layout = await layOutWork({
      workDir: join(root, '_work'),
      externalsDir: join(root, 'externals'),
      repository: 'octo-org/hello',
      nodeBinary: fakeNode,
      owner: null,
    });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("creates empty files per step and removes the previous step's", async () => {
    const first = await createStepFileCommands(layout, 'aaa');
    expect((await readdir(layout.fileCommandsDir)).sort()).toEqual([
      'add_path_aaa',
      'artifacts_aaa',
      'artifacts_list_aaa',
      'save_state_aaa',
      'set_env_aaa',
      'set_output_aaa',
      'step_summary_aaa',
    ]);
    await createStepFileCommands(layout, 'bbb', first);
    expect((await readdir(layout.fileCommandsDir)).every((name) => name.endsWith('_bbb'))).toBe(true);
  });

  it('reads back what a step wrote and reports files that disappeared', async () => {
    const step = await createStepFileCommands(layout, 'ccc');
    await appendFile(step.host.GITHUB_OUTPUT, 'greeting=hi\n');
    await appendFile(step.host.GITHUB_ENV, 'MODE<<X\na\nb\nX\n');
    await appendFile(step.host.GITHUB_PATH, '/opt/one\n/opt/two\n');
    await appendFile(step.host.GITHUB_STEP_SUMMARY, '# Done\n');
    await rm(step.host.GITHUB_STATE);
    const results = await readFileCommands(step);
    expect(results.outputs).toEqual({ greeting: 'hi' });
    expect(results.env).toEqual({ MODE: 'a\nb' });
    expect(results.path).toEqual(['/opt/one', '/opt/two']);
    expect(results.summary).toBe('# Done\n');
    expect(results.missing).toEqual(['GITHUB_STATE']);
  });
});
