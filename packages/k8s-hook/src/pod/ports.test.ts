import { describe, expect, it } from 'vitest';
import { parsePortMappings, portsContext, toContainerPorts } from './ports.js';

describe('parsePortMappings', () => {
  it.each([
    ['80', [{ containerPort: 80, protocol: 'TCP' }]],
    ['8080:80', [{ containerPort: 80, hostPort: 8080, protocol: 'TCP' }]],
    ['127.0.0.1:8080:80', [{ containerPort: 80, hostPort: 8080, protocol: 'TCP' }]],
    ['53:53/udp', [{ containerPort: 53, hostPort: 53, protocol: 'UDP' }]],
    ['6379/tcp', [{ containerPort: 6379, protocol: 'TCP' }]],
    [
      '9000-9001:8000-8001',
      [
        { containerPort: 8000, hostPort: 9000, protocol: 'TCP' },
        { containerPort: 8001, hostPort: 9001, protocol: 'TCP' },
      ],
    ],
  ])('parses %s', (entry, ports) => {
    expect(parsePortMappings([entry])).toEqual({ ports, problems: [] });
  });

  it.each([['http'], ['0'], ['70000'], ['80/icmp'], ['1:2:3:4'], ['9000-9002:8000-8001']])('reports %s', (entry) => {
    const parsed = parsePortMappings([entry]);
    expect(parsed.ports).toEqual([]);
    expect(parsed.problems).toEqual([expect.stringContaining(`"${entry}"`)]);
  });
});

describe('portsContext', () => {
  it('maps each container port to the port to use, never null', () => {
    const { ports } = parsePortMappings(['6379', '8080:80', '53/udp']);
    expect(portsContext(ports)).toEqual({ '6379': '6379', '80': '8080', '53/udp': '53' });
    expect(portsContext([])).toEqual({});
  });
});

describe('toContainerPorts', () => {
  it('sets hostPort only when the workflow asked for one', () => {
    const { ports } = parsePortMappings(['6379', '8080:80']);
    expect(toContainerPorts(ports)).toEqual([
      { containerPort: 6379, protocol: 'TCP' },
      { containerPort: 80, hostPort: 8080, protocol: 'TCP' },
    ]);
  });
});
