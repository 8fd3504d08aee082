/**
 * A short-lived serving certificate for 127.0.0.1, signed with `openssl` by a given CA: clients
 * that trust that CA (the test cluster's) trust whatever serves it.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM files of a certificate authority. */
export interface CaFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** A PEM certificate and key, written in `dir` until `dispose()` removes it. */
export interface IssuedCertificate {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly certFile: string;
  readonly keyFile: string;
  readonly dir: string;
  dispose(): Promise<void>;
}

async function openssl(args: readonly string[], what: string): Promise<void> {
  try {
    await run('openssl', [...args]);
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`openssl could not ${what}: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}

/** A new temp folder that `dispose` removes; the certificate files live in it. */
async function tempDir(prefix: string): Promise<{ dir: string; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Issues a serving certificate for `127.0.0.1` and `localhost` (EC P-256, valid one day) signed
 * by `ca`, in a fresh temp folder. The CA's folder is never written (no serial file).
 */
export async function issueServingCertificate(ca: CaFiles, commonName = 'zrh-fault-proxy'): Promise<IssuedCertificate> {
  const { dir, dispose } = await tempDir('zrh-fault-proxy-');
  try {
    const keyFile = join(dir, 'serving.key');
    const csrFile = join(dir, 'serving.csr');
    const certFile = join(dir, 'serving.crt');
    const extFile = join(dir, 'serving.ext');
    await writeFile(
      extFile,
      'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
    );
    await openssl(
      ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csrFile, '-subj', `/CN=${commonName}`],
      'create a key and a signing request',
    );
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        csrFile,
        '-CA',
        ca.certFile,
        '-CAkey',
        ca.keyFile,
        '-set_serial',
        `0x${randomBytes(12).toString('hex')}`,
        '-days',
        '1',
        '-extfile',
        extFile,
        '-out',
        certFile,
      ],
      `sign a serving certificate with the CA ${ca.certFile}`,
    );
    return { cert: await readFile(certFile), key: await readFile(keyFile), certFile, keyFile, dir, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** A new self-signed CA (EC P-256, one day) in a fresh temp folder, for tests that need their own. */
export async function createCertificateAuthority(commonName = 'zrh-fault-proxy-test-ca'): Promise<IssuedCertificate> {
  const { dir, dispose } = await tempDir('zrh-test-ca-');
  try {
    const keyFile = join(dir, 'ca.key');
    const certFile = join(dir, 'ca.crt');
    await openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-subj',
        `/CN=${commonName}`,
      ],
      'create a CA',
    );
    return { cert: await readFile(certFile), key: await readFile(keyFile), certFile, keyFile, dir, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
