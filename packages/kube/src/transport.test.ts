import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Transport } from './transport.js';

describe('Transport.authorization', () => {
  afterEach(() => vi.useRealTimers());

  it('re-reads a rotated token file after a minute, and keeps the last token while the file is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-token-'));
    try {
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, 'first\n');
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
      const t = new Transport({ server: 'https://127.0.0.1:1', tokenFile, namespace: 'ci', source: 'test' });
      expect(await t.authorization()).toBe('Bearer first');

      writeFileSync(tokenFile, 'second\n');
      vi.setSystemTime(new Date('2026-01-01T00:00:30Z'));
      expect(await t.authorization()).toBe('Bearer first');
      vi.setSystemTime(new Date('2026-01-01T00:01:01Z'));
      expect(await t.authorization()).toBe('Bearer second');

      rmSync(tokenFile);
      vi.setSystemTime(new Date('2026-01-01T00:02:02Z'));
      expect(await t.authorization()).toBe('Bearer second');
      t.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prefers a static token and sends nothing without credentials', async () => {
    expect(await new Transport({ server: 'https://127.0.0.1:1', token: 'abc', namespace: 'ci', source: 'test' }).authorization()).toBe('Bearer abc');
    expect(await new Transport({ server: 'https://127.0.0.1:1', namespace: 'ci', source: 'test' }).authorization()).toBeUndefined();
  });
});
