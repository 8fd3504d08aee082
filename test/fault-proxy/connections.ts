/**
 * What forwarding needs besides the faults: the upstream to call, which headers pass, resetting a
 * client's connection, and everything open that `close()` must stop.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { Socket } from 'node:net';

/** Where requests go, and how to reach it. */
export class Upstream {
  readonly url: URL;
  readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  private readonly tls: { readonly ca?: string | Buffer };

  constructor(url: string, ca: string | Buffer | undefined) {
    this.url = new URL(url);
    if (this.url.protocol !== 'https:' && this.url.protocol !== 'http:') throw new Error(`upstream ${url}: expected an http or https URL`);
    const secure = this.url.protocol === 'https:';
    this.mod = secure ? https : http;
    this.tls = secure && ca !== undefined ? { ca } : {};
    this.agent = secure ? new https.Agent({ keepAlive: true, ...this.tls }) : new http.Agent({ keepAlive: true });
  }

  /** A request to the upstream; upgrades get a connection of their own. */
  request(method: string, path: string, headers: http.OutgoingHttpHeaders, upgrade = false): http.ClientRequest {
    return this.mod.request({
      protocol: this.url.protocol,
      hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
      port: this.url.port,
      method,
      path: `${this.url.pathname.replace(/\/$/, '')}${path}`,
      headers,
      ...(upgrade ? { agent: false, ...this.tls } : { agent: this.agent }),
    });
  }
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

/**
 * The client's headers as they go upstream: its own `Authorization` and everything else but the
 * hop-by-hop ones (kept for an upgrade, which needs them). `plain` drops `Accept-Encoding` so a
 * streamed body can be counted in lines.
 */
export function requestHeaders(
  incoming: http.IncomingHttpHeaders,
  options: { readonly upgrade?: boolean; readonly plain?: boolean } = {},
): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || name === 'host') continue;
    if (HOP_BY_HOP.has(name) && !(options.upgrade && (name === 'connection' || name === 'upgrade'))) continue;
    if (options.plain && name === 'accept-encoding') continue;
    out[name] = value;
  }
  return out;
}

/** Response headers as they go back to the client (hop-by-hop ones dropped). */
export function responseHeaders(incoming: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

/** A raw HTTP/1.1 response head, for a socket that left the HTTP server (an upgrade). */
export function rawResponseHead(status: number, message: string, rawHeaders: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${message}\r\n`;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) head += `${rawHeaders[i] ?? ''}: ${rawHeaders[i + 1] ?? ''}\r\n`;
  return `${head}\r\n`;
}

/**
 * Resets a client's connection (TCP RST, the client reads ECONNRESET). A TLS socket is reset
 * through the TCP socket under it; where that is not reachable it is destroyed (FIN) instead.
 */
export function resetSocket(socket: Socket): void {
  const parent = (socket as Socket & { _parent?: unknown })._parent;
  const tcp = parent instanceof Socket ? parent : socket;
  try {
    tcp.resetAndDestroy();
  } catch {
    tcp.destroy();
  }
  socket.destroy();
}

/** Everything open that `close()` stops: sockets, requests, timers. */
export class OpenThings {
  private readonly things = new Set<{ destroy(): unknown }>();
  private readonly timers = new Set<NodeJS.Timeout>();

  /** Keeps `thing` until it emits `close`. */
  track<T extends { destroy(): unknown; once(event: 'close', listener: () => void): unknown }>(thing: T): T {
    this.things.add(thing);
    thing.once('close', () => this.things.delete(thing));
    return thing;
  }

  timer(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  clearTimer(t: NodeJS.Timeout | undefined): void {
    if (t === undefined) return;
    clearTimeout(t);
    this.timers.delete(t);
  }

  destroyAll(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const thing of this.things) thing.destroy();
    this.things.clear();
  }
}
