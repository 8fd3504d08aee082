import { readFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { parseStatus, toApiError, type RequestContext } from './api-error.js';
import { impersonationHeaders, type KubeConnectionConfig } from './config/connection.js';
import { KubeConnectionError, KubeError } from './errors.js';
import { TunnelingHttpAgent, TunnelingHttpsAgent } from './proxy-tunnel.js';
import { parseRetryAfter, RetryPolicy, type RetryMode, type RetryOptions } from './retry.js';
import { StatsCounter } from './stats.js';

/** How long a token read from a file is used before the file is read again (client-go: 1 min). */
const TOKEN_REREAD_MS = 60_000;
/** Error bodies are read up to this size; only their Status fields are used. */
const MAX_ERROR_BODY = 1 << 20;

/** One HTTP request to the API server. */
export interface TransportRequest {
  readonly method: string;
  /** Path with query string. */
  readonly path: string;
  readonly ctx: RequestContext;
  /** Key for the stats (`GET pods`, `WATCH pods`). */
  readonly statsKey: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  readonly signal?: AbortSignal | undefined;
  /** Idle timeout of the socket; 0 for long streams (watch, follow). */
  readonly timeoutMs?: number;
  /** What the retry policy may send again. @default `idempotent` for GET, PUT, DELETE, PATCH; `unprocessed` for POST */
  readonly retry?: RetryMode;
  /** Called before each attempt with its number (1 for the first). */
  readonly onAttempt?: (attempt: number) => void;
}

const CONNECTION_HINT = 'Check that the API server is running and that the kubeconfig server address is right';

/** Maps a socket/TLS failure to a `KubeConnectionError` naming the server. */
export function connectionError(server: string, err: unknown): KubeError {
  if (err instanceof KubeError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? '';
  if (code.startsWith('ERR_TLS') || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/.test(code)) {
    return new KubeConnectionError(server, `TLS handshake with the Kubernetes API at ${server} failed (${code}): ${e.message}`, {
      cause: err,
      hint: 'Check the certificate-authority of the kubeconfig cluster (or the in-cluster ca.crt)',
    });
  }
  return new KubeConnectionError(server, `cannot reach the Kubernetes API at ${server}${code ? ` (${code})` : ''}: ${e.message}`, {
    cause: err,
    hint: CONNECTION_HINT,
  });
}

/** Reads a (possibly large) body to a Buffer, keeping at most `limit` bytes. */
export function readBody(res: http.IncomingMessage, limit = Infinity): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      if (size < limit) chunks.push(chunk);
      size += chunk.length;
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('response aborted')));
  });
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH']);

/** A failure with a system error code, so the retry policy can tell what happened. */
function coded(message: string, code: string, cause?: unknown): Error {
  return Object.assign(new Error(message, { cause }), { code });
}

/** HTTP(S) to one API server over a keep-alive agent, with auth, retries and stats. */
export class Transport {
  readonly url: URL;
  readonly stats = new StatsCounter();
  readonly retry: RetryPolicy;
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  private token: { value: string; readAt: number } | undefined;

  constructor(
    readonly config: KubeConnectionConfig,
    retry: RetryOptions = {},
  ) {
    this.retry = new RetryPolicy(retry);
    this.url = new URL(config.server);
    const secure = this.url.protocol === 'https:';
    this.mod = secure ? https : http;
    const proxy = config.proxyUrl ? new URL(config.proxyUrl) : undefined;
    const agentOptions = { keepAlive: true, maxSockets: 16 };
    if (secure)
      this.agent = proxy
        ? new TunnelingHttpsAgent(proxy, { ...agentOptions, ...this.tlsOptions() })
        : new https.Agent({ ...agentOptions, ...this.tlsOptions() });
    else this.agent = proxy ? new TunnelingHttpAgent(proxy, agentOptions) : new http.Agent(agentOptions);
  }

  /** Who the client is: `Authorization` (token re-read as needed) and any `Impersonate-*` headers. */
  async identityHeaders(): Promise<Record<string, string | string[]>> {
    const auth = await this.authorization();
    return { ...(auth ? { Authorization: auth } : {}), ...impersonationHeaders(this.config.impersonate) };
  }

  /**
   * The keep-alive agent, for the exec websocket's upgrade request: it then starts on an idle
   * connection that is already open (no new TCP and TLS handshake), and takes that connection over.
   */
  get upgradeAgent(): http.Agent {
    return this.agent;
  }

  /** TLS options for this server (also used by the exec websocket). */
  tlsOptions(): https.AgentOptions {
    const c = this.config;
    const opts: https.AgentOptions = { rejectUnauthorized: !c.insecureSkipTlsVerify };
    if (c.ca) opts.ca = c.ca;
    if (c.clientCert) opts.cert = c.clientCert;
    if (c.clientKey) opts.key = c.clientKey;
    if (c.tlsServerName) opts.servername = c.tlsServerName;
    return opts;
  }

  /** The `Authorization` header value, re-reading a token file once it is older than a minute. */
  async authorization(): Promise<string | undefined> {
    const { token, tokenFile } = this.config;
    if (token) return `Bearer ${token}`;
    if (!tokenFile) return undefined;
    const now = Date.now();
    if (!this.token || now - this.token.readAt > TOKEN_REREAD_MS) {
      try {
        this.token = { value: (await readFile(tokenFile, 'utf8')).trim(), readAt: now };
      } catch (err) {
        // Keep using the last token if the file is briefly missing during a rotation.
        if (!this.token)
          throw new KubeConnectionError(this.config.server, `cannot read the token file ${tokenFile}: ${(err as Error).message}`, { cause: err });
      }
    }
    return this.token ? `Bearer ${this.token.value}` : undefined;
  }

  /**
   * Sends a request and resolves with the response once its headers arrive and its status is 2xx;
   * failures before that are retried as `req.retry` allows.
   */
  open(req: TransportRequest): Promise<http.IncomingMessage> {
    return this.retrying(req, () => this.attempt(req));
  }

  /** Sends a request and reads the whole 2xx response body; a GET cut off mid-body is sent again. */
  send(req: TransportRequest): Promise<Buffer> {
    return this.retrying(req, async () => {
      const res = await this.attempt(req);
      try {
        return await readBody(res);
      } catch (err) {
        // A read can be repeated; a write that answered 2xx happened, whatever its body does.
        const cut = req.method === 'GET' ? coded(`the response to ${req.method} ${req.path} was cut off`, 'ECONNRESET', err) : err;
        throw connectionError(this.config.server, cut);
      }
    });
  }

  private retrying<T>(req: TransportRequest, attempt: () => Promise<T>): Promise<T> {
    const mode = req.retry ?? (IDEMPOTENT_METHODS.has(req.method) ? 'idempotent' : 'unprocessed');
    return this.retry.run(
      mode,
      (n) => {
        req.onAttempt?.(n);
        return attempt();
      },
      { signal: req.signal, onRetry: () => this.stats.recover('RETRY', req.statsKey) },
    );
  }

  /** One attempt: resolves with a 2xx response, or rejects with the API error or connection failure. */
  private async attempt(req: TransportRequest): Promise<http.IncomingMessage> {
    this.stats.count(req.statsKey);
    const headers: Record<string, string | string[]> = { Accept: 'application/json', ...req.headers, ...(await this.identityHeaders()) };
    if (req.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(req.body));
    const server = this.config.server;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const r = this.mod.request(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
          port: this.url.port,
          path: `${this.url.pathname.replace(/\/$/, '')}${req.path}`,
          method: req.method,
          headers,
          agent: this.agent,
          signal: req.signal,
        },
        resolve,
      );
      r.on('error', (err) => reject(err.name === 'AbortError' ? err : connectionError(server, err)));
      const timeoutMs = req.timeoutMs;
      if (timeoutMs) {
        r.setTimeout(timeoutMs, () =>
          r.destroy(
            new KubeConnectionError(server, `the Kubernetes API at ${server} did not answer ${req.method} ${req.path} within ${timeoutMs / 1000} s`, {
              cause: coded('timeout before the response', 'ETIMEDOUT'),
              hint: CONNECTION_HINT,
            }),
          ),
        );
      }
      r.end(req.body);
    });
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    const body = await readBody(res, MAX_ERROR_BODY).catch(() => undefined);
    throw toApiError(status, parseStatus(body), req.ctx, parseRetryAfter(res.headers['retry-after']));
  }

  /** Closes idle keep-alive sockets so the process can exit. */
  close(): void {
    this.agent.destroy();
  }
}
