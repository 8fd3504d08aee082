import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';

/** Longest answer to a CONNECT this client reads (status line and headers). */
const MAX_CONNECT_ANSWER = 16 * 1024;

/** A kubeconfig `proxy-url` this client can tunnel through: `http://` or `https://`, credentials optional. */
export function checkProxyUrl(raw: string): { ok: true; url: URL } | { ok: false; reason: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'it is not a URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { ok: false, reason: `its scheme ${url.protocol.replace(/:$/, '')} is not supported (http and https proxies are)` };
  if (url.pathname !== '/' && url.pathname !== '') return { ok: false, reason: 'a proxy URL has no path' };
  return { ok: true, url };
}

/** Proxy-Authorization for a proxy URL with user info (`http://user:pass@proxy:3128`). */
function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username && !proxy.password) return undefined;
  const user = decodeURIComponent(proxy.username);
  const pass = decodeURIComponent(proxy.password);
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

/**
 * Opens a tunnel to `host:port` through an HTTP(S) proxy with `CONNECT` and resolves with the raw
 * tunnel socket. A refusal says the proxy's status line.
 */
export function connectThroughProxy(proxy: URL, host: string, port: number, signal?: AbortSignal): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const proxyPort = Number(proxy.port) || (proxy.protocol === 'https:' ? 443 : 80);
    const proxyHost = proxy.hostname.replace(/^\[|\]$/g, '');
    const socket: net.Socket =
      proxy.protocol === 'https:'
        ? tls.connect({ host: proxyHost, port: proxyPort, servername: net.isIP(proxyHost) ? undefined : proxyHost })
        : net.connect({ host: proxyHost, port: proxyPort });
    const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const auth = proxyAuthorization(proxy);
    let answer = Buffer.alloc(0);
    /** Fails the tunnel; `code` tells the retry policy what happened (`EPROXYREFUSED`: the proxy answered no, not retried). */
    const fail = (err: Error, code: string) => {
      cleanup();
      socket.destroy();
      reject(Object.assign(err, { code }));
    };
    const onAbort = () => fail(Object.assign(new Error('aborted'), { name: 'AbortError' }), 'ABORT_ERR');
    const onError = (err: NodeJS.ErrnoException) => fail(new Error(`proxy ${proxy.host}: ${err.message}`, { cause: err }), err.code ?? 'ECONNRESET');
    const onData = (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      const end = answer.indexOf('\r\n\r\n');
      if (end < 0) {
        if (answer.length > MAX_CONNECT_ANSWER) fail(new Error(`proxy ${proxy.host} sent no end of its answer to CONNECT ${target}`), 'EPROXYREFUSED');
        return;
      }
      const statusLine = answer.subarray(0, answer.indexOf('\r\n')).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
      if (status !== 200) return fail(new Error(`proxy ${proxy.host} refused CONNECT ${target}: ${statusLine || 'no status line'}`), 'EPROXYREFUSED');
      cleanup();
      const rest = answer.subarray(end + 4);
      if (rest.length) socket.unshift(rest);
      resolve(socket);
    };
    const onClose = () => fail(new Error(`proxy ${proxy.host} closed the connection before it answered CONNECT ${target}`), 'ECONNRESET');
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.once(proxy.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ''}\r\n`);
    });
  });
}

type Callback = (err: Error | null, socket?: Duplex) => void;

/** A keep-alive agent whose connections to the API server go through `proxy` (CONNECT), TLS inside the tunnel. */
export class TunnelingHttpsAgent extends https.Agent {
  constructor(
    private readonly proxy: URL,
    options: https.AgentOptions,
  ) {
    super(options);
  }

  override createConnection(options: https.RequestOptions & tls.ConnectionOptions, callback: Callback): undefined {
    const host = String(options.host ?? options.hostname ?? 'localhost');
    const port = Number(options.port ?? 443);
    connectThroughProxy(this.proxy, host, port).then(
      (tunnel) => {
        const secure = tls.connect({ ...options, socket: tunnel as net.Socket, servername: options.servername ?? (net.isIP(host) ? undefined : host) });
        callback(null, secure);
      },
      (err: Error) => callback(err),
    );
    return undefined;
  }
}

/** A keep-alive agent for a plain-HTTP API server behind a proxy (CONNECT, no TLS inside). */
export class TunnelingHttpAgent extends http.Agent {
  constructor(
    private readonly proxy: URL,
    options: http.AgentOptions,
  ) {
    super(options);
  }

  override createConnection(options: http.RequestOptions, callback: Callback): undefined {
    connectThroughProxy(this.proxy, String(options.host ?? options.hostname ?? 'localhost'), Number(options.port ?? 80)).then(
      (tunnel) => callback(null, tunnel),
      (err: Error) => callback(err),
    );
    return undefined;
  }
}
