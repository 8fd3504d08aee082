import { describe, expect, it } from 'vitest';
import { planStepCopy } from './step-files.js';

describe('planStepCopy', () => {
  it('sends only the script and the file commands for a run step', () => {
    expect(
      planStepCopy({
        entryPoint: 'bash',
        args: ['--noprofile', '--norc', '-e', '-o', 'pipefail', '/__w/_temp/1f2e.sh'],
        copiedActions: [],
        copiedExternals: [],
      }),
    ).toEqual({
      workPaths: ['_temp/_runner_file_commands', '_temp/1f2e.sh'],
      newActions: [],
      newExternals: [],
    });
  });

  it('sends a JavaScript action folder and its node once', () => {
    const step = { entryPoint: '/__e/node20/bin/node', args: ['/__w/_actions/actions/setup-node/v4/dist/setup/index.js'] };
    expect(planStepCopy({ ...step, copiedActions: [], copiedExternals: [] })).toEqual({
      workPaths: ['_temp/_runner_file_commands', '_actions/actions/setup-node/v4'],
      newActions: ['_actions/actions/setup-node/v4'],
      newExternals: ['node20'],
    });
    expect(planStepCopy({ ...step, copiedActions: ['_actions/actions/setup-node/v4'], copiedExternals: ['node20'] })).toEqual({
      workPaths: ['_temp/_runner_file_commands'],
      newActions: [],
      newExternals: [],
    });
  });

  it('never sends all of _temp', () => {
    expect(planStepCopy({ entryPoint: 'sh', args: ['/__w/_temp', '/__w/_temp/a/b.sh'], copiedActions: [], copiedExternals: [] }).workPaths).toEqual([
      '_temp/_runner_file_commands',
    ]);
  });
});
