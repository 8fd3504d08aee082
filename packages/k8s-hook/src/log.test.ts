import { afterEach, describe, expect, it, vi } from 'vitest';
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

describe('actionsLogger compared with @actions/core', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes the same bytes as @actions/core for the same calls', async () => {
    const core = await import('@actions/core');
    let theirs = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      theirs += String(s);
      return true;
    });
    const message = 'multi\nline 100% done\r';
    core.error(message);
    core.warning(message);
    core.debug(message);
    core.setSecret('s3cret');
    await core.group('Phase: prepare', async () => core.info(message));
    vi.restoreAllMocks();

    const { log, text } = capture();
    log.error(message);
    log.warning(message);
    log.debug(message);
    log.mask('s3cret');
    await log.group('Phase: prepare', async () => log.info(message));
    expect(text()).toBe(theirs);
  });
});
