/**
 * A fault-injecting HTTPS proxy on 127.0.0.1 in front of a Kubernetes API server. It serves a
 * certificate signed by the cluster's CA, so a client trusts it exactly as it trusts the API
 * server; it forwards every request with the client's own headers (its bearer token), streams
 * watches and followed logs, pipes exec websockets, and injects the faults of its rules.
 */
import type { IncomingMessage } from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { issueServingCertificate, type CaFiles } from './certificates.js';
import { OpenThings, Upstream } from './connections.js';
import { handleExchange, type ExchangeContext } from './exchange.js';
import type { FaultRule } from './faults.js';
import { classifyRequest } from './request-info.js';
import type { RecordedRequest } from './request-log.js';
import { RuleSet, type ActiveFault } from './rule-set.js';
import { handleUpgrade } from './upgrade.js';

export interface FaultProxyOptions {
  /** The API server requests go to, e.g. `https://127.0.0.1:16443`. */
  readonly upstream: string;
  /** PEM CA the upstream's certificate is verified with. @default Node's CAs */
  readonly upstreamCa?: string | Buffer;
  /** The CA that signs the proxy's serving certificate: the one the proxy's clients trust. */
  readonly signingCa: CaFiles;
  /** Rules active from the start (objects or a fault script). */
  readonly faults?: readonly FaultRule[] | string;
}

export interface FaultProxy {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  /** Adds rules (objects or a fault script) after those already active. */
  addFaults(rules: FaultRule | readonly FaultRule[] | string): ActiveFault[];
  /** Takes every rule out. */
  clearFaults(): void;
  readonly faults: readonly ActiveFault[];
  /** Every request so far, in arrival order (live records: a stream's outcome changes when it ends). */
  readonly requests: readonly Readonly<RecordedRequest>[];
  /** Forgets the requests recorded so far. */
  clearRequests(): void;
  /** Stops listening, drops every connection, removes the certificate. */
  close(): Promise<void>;
}

class FaultProxyServer implements FaultProxy {
  readonly url: string;
  private records: RecordedRequest[] = [];
  private lastId = 0;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly server: https.Server,
    private readonly rules: RuleSet,
    private readonly ctx: ExchangeContext,
    private readonly disposeCertificate: () => Promise<void>,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `https://127.0.0.1:${port}`;
    server.on('request', (req, res) => {
      const record = this.record(req, false);
      handleExchange(ctx, req, res, record.record, record.fault);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      const record = this.record(req, true);
      handleUpgrade(ctx, req, socket, head, record.record, record.fault);
    });
  }

  private record(req: IncomingMessage, upgrade: boolean) {
    const info = classifyRequest(req.method ?? 'GET', req.url ?? '/', upgrade);
    const active = this.rules.pick(info);
    const record: RecordedRequest = {
      ...info,
      id: ++this.lastId,
      at: Date.now(),
      fault: active?.text,
      status: undefined,
      upstreamStatus: undefined,
      outcome: 'open',
      bytes: 0,
      endedAt: undefined,
    };
    this.records.push(record);
    return { record, fault: active?.rule.fault };
  }

  addFaults(rules: FaultRule | readonly FaultRule[] | string): ActiveFault[] {
    return this.rules.add(rules);
  }

  clearFaults(): void {
    this.rules.clear();
  }

  get faults(): readonly ActiveFault[] {
    return this.rules.active;
  }

  get requests(): readonly Readonly<RecordedRequest>[] {
    return [...this.records];
  }

  clearRequests(): void {
    this.records = [];
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeAllConnections();
      this.ctx.open.destroyAll();
      this.ctx.upstream.agent.destroy();
      await closed;
      await this.disposeCertificate();
    })();
    return this.closing;
  }
}

/** Starts a proxy on a random port of 127.0.0.1 with a fresh certificate signed by `signingCa`. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const rules = new RuleSet();
  if (options.faults !== undefined) rules.add(options.faults);
  const upstream = new Upstream(options.upstream, options.upstreamCa);
  const certificate = await issueServingCertificate(options.signingCa);
  const open = new OpenThings();
  const server = https.createServer({ key: certificate.key, cert: certificate.cert });
  // Long watches and idle keep-alive connections stay up as long as the client wants them.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 130_000;
  server.requestTimeout = 0;
  server.on('connection', (socket: Socket) => {
    open.track(socket);
    socket.on('error', () => undefined);
  });
  server.on('secureConnection', (socket: Socket) => {
    open.track(socket);
    socket.on('error', () => undefined);
  });
  server.on('clientError', (_err, socket: Socket) => socket.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    upstream.agent.destroy();
    await certificate.dispose();
    throw err;
  }
  return new FaultProxyServer(server, rules, { upstream, open }, certificate.dispose);
}
