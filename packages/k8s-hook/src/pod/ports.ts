import type { V1ContainerPort } from '@kubernetes/client-node';

/** One published port, from a `ports:` entry such as `8080:80/udp`. */
export interface PortMapping {
  readonly containerPort: number;
  /** Only when the workflow names one (`8080:80`); a pod needs none to reach a sidecar. */
  readonly hostPort?: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
}

/** The result of parsing a container's `portMappings`. */
export interface ParsedPorts {
  readonly ports: readonly PortMapping[];
  /** One message per entry that could not be parsed. */
  readonly problems: readonly string[];
}

const MAX_RANGE = 1000;

function parseRange(text: string): [number, number] | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from < 1 || to > 65535 || to < from || to - from >= MAX_RANGE) return undefined;
  return [from, to];
}

/**
 * Parses docker-style port mappings: `80`, `8080:80`, `127.0.0.1:8080:80`, `8080:80/udp`,
 * `8000-8002:8000-8002`. A host IP is accepted and ignored (pods have no per-port host IP here).
 */
export function parsePortMappings(entries: readonly string[]): ParsedPorts {
  const ports: PortMapping[] = [];
  const problems: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const [spec = '', proto = 'tcp', ...extra] = entry.split('/');
    const protocol = proto.toUpperCase();
    if (extra.length > 0 || (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP')) {
      problems.push(`port "${raw}": unknown protocol "${proto}" (expected tcp, udp or sctp)`);
      continue;
    }
    const parts = spec.split(':');
    const containerText = parts[parts.length - 1] ?? '';
    const hostText = parts.length >= 2 ? parts[parts.length - 2] : undefined;
    if (parts.length > 3) {
      problems.push(`port "${raw}": expected [hostIP:][hostPort:]containerPort[/protocol]`);
      continue;
    }
    const container = parseRange(containerText);
    const host = hostText === undefined || hostText === '' ? undefined : parseRange(hostText);
    if (!container || (hostText !== undefined && hostText !== '' && !host)) {
      problems.push(`port "${raw}": expected port numbers 1-65535 (ranges like 8000-8010)`);
      continue;
    }
    const count = container[1] - container[0];
    if (host && host[1] - host[0] !== count) {
      problems.push(`port "${raw}": host and container ranges differ in length`);
      continue;
    }
    for (let i = 0; i <= count; i++) {
      const containerPort = container[0] + i;
      ports.push(host ? { containerPort, hostPort: host[0] + i, protocol } : { containerPort, protocol });
    }
  }
  return { ports, problems };
}

/** The pod-spec `ports` of a container. */
export function toContainerPorts(ports: readonly PortMapping[]): V1ContainerPort[] {
  return ports.map((p) => ({
    containerPort: p.containerPort,
    protocol: p.protocol,
    ...(p.hostPort === undefined ? {} : { hostPort: p.hostPort }),
  }));
}

/**
 * The response's `ports` map, `{"<containerPort>": "<port>"}` as the docker runner reports it:
 * the host port when one was asked for, else the container port (reachable on the pod's address
 * and, from the job container, on localhost). Non-TCP keys carry their protocol (`53/udp`).
 */
export function portsContext(ports: readonly PortMapping[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of ports) {
    const key = p.protocol === 'TCP' ? String(p.containerPort) : `${p.containerPort}/${p.protocol.toLowerCase()}`;
    out[key] = String(p.hostPort ?? p.containerPort);
  }
  return out;
}
