import { describe, expect, it } from 'vitest';
import { actionsLogger } from './log.js';

const capture = (debug = false) => {
  let text = '';
  return { log: actionsLogger(debug, { write: (s: string) => (text += s) }), text: () => text };
};

describe('actionsLogger', () => {
  it('writes workflow commands escaped like @actions/core', async () => {
    const { log, text } = capture();
    log.error('line1\nline2 100%');
    log.warning('careful\r');
    log.mask('s3cret');
    await log.group('Phase', async () => log.info('inside'));
    expect(text()).toBe('::error::line1%0Aline2 100%25\n::warning::careful%0D\n::add-mask::s3cret\n::group::Phase\ninside\n::endgroup::\n');
  });

  it('prints debug lines plainly only at ZRH_LOG_LEVEL=debug', () => {
    const quiet = capture();
    quiet.log.debug('x');
    const loud = capture(true);
    loud.log.debug('x');
    expect([quiet.text(), loud.text()]).toEqual(['::debug::x\n', '[debug] x\n']);
  });

  it('closes the group when the phase fails', async () => {
    const { log, text } = capture();
    await expect(log.group('Phase', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(text()).toBe('::group::Phase\n::endgroup::\n');
  });
});
