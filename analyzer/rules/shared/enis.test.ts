import { describe, expect, it } from 'vitest';
import { LEGACY_PRIMARY_ENI_POOL, networkCardEnis } from '../data/fixtures.ts';
import { availableCommandsOf, describeEni, type EniSnapshot, readEniDocument, readPodsDocument } from './enis.ts';

function snapshot(value: unknown): EniSnapshot {
  const document = readEniDocument(value);
  if (document.kind !== 'enis') throw new Error(`not ENI data: ${JSON.stringify(document)}`);
  return document.snapshot;
}

const ZERO = '0001-01-01T00:00:00Z';

describe('readEniDocument', () => {
  it('reads the pre-1.7 ENIIPPools shape, including the oldest builds that exported only Assigned', () => {
    // amazon-vpc-cni-k8s docs/troubleshooting.md (2018-2019): `curl http://localhost:61679/v1/enis`
    const result = snapshot({
      AssignedIPs: 3,
      ENIIPPools: {
        'eni-001197a0eeab79df8': LEGACY_PRIMARY_ENI_POOL,
        'eni-0487f50f9f0e7924d': {
          AssignedIPv4Addresses: 2,
          DeviceNumber: 2,
          ID: 'eni-0487f50f9f0e7924d',
          IPv4Addresses: {
            '10.11.11.120': { Address: '10.11.11.120', Assigned: true, UnassignedTime: ZERO },
            '10.11.11.121': { Address: '10.11.11.121', Assigned: true, UnassignedTime: ZERO },
          },
          IsPrimary: false,
        },
      },
      TotalIPs: 5,
    });
    expect(result.shape).toBe('eni-ip-pools');
    expect(result.enis.map((eni) => [eni.id, eni.primary, eni.deviceNumber, eni.totalIps, eni.assignedIps])).toEqual([
      ['eni-001197a0eeab79df8', true, 0, 3, 1],
      ['eni-0487f50f9f0e7924d', false, 2, 2, 2],
    ]);
    expect(result).toMatchObject({ totalIps: 5, assignedIps: 3, reported: { totalIps: 5, assignedIps: 3 } });
    expect(result.prefixDelegation).toBe(false);
  });

  it('reads the v1.7–v1.8 IPv4Addresses shape with IPAMKey', () => {
    const result = snapshot({
      TotalIPs: 3,
      AssignedIPs: 1,
      ENIs: {
        'eni-0a1b': {
          ID: 'eni-0a1b',
          IsPrimary: true,
          IsTrunk: false,
          DeviceNumber: 0,
          IPv4Addresses: {
            '10.0.1.10': {
              Address: '10.0.1.10',
              IPAMKey: { networkName: 'aws-cni', containerID: '6397e2a1', ifName: 'eth0' },
              UnassignedTime: ZERO,
            },
            '10.0.1.11': {
              Address: '10.0.1.11',
              IPAMKey: { networkName: '', containerID: '', ifName: '' },
              UnassignedTime: '2021-03-01T10:00:00Z',
            },
            '10.0.1.12': { Address: '10.0.1.12', IPAMKey: {}, UnassignedTime: ZERO },
          },
        },
      },
    });
    expect(result.shape).toBe('ipv4-addresses');
    expect(result.enis[0]).toMatchObject({ totalIps: 3, assignedIps: 1, secondaryIps: 3, networkCard: 0 });
    expect(result.scrubbed).toBe(false);
  });

  it('reads the v1.9–v1.19 cidr shape with /32 addresses and /28 prefixes (v1.9 IPv4Addresses, v1.10+ IPAddresses)', () => {
    const result = snapshot({
      TotalIPs: 33,
      AssignedIPs: 3,
      ENIs: {
        'eni-0pd': {
          ID: 'eni-0pd',
          IsPrimary: true,
          DeviceNumber: 0,
          AvailableIPv4Cidrs: {
            '10.0.1.16/28': {
              Cidr: { IP: '10.0.1.16', Mask: '////8A==' },
              IPAddresses: {
                '10.0.1.17': {
                  Address: '10.0.1.17',
                  IPAMKey: { networkName: 'aws-cni', containerID: 'c1', ifName: 'eth0' },
                  IPAMMetadata: { k8sPodNamespace: 'default', k8sPodName: 'web-1' },
                  AssignedTime: '2024-01-01T00:00:00Z',
                  UnassignedTime: ZERO,
                },
                '10.0.1.18': {
                  Address: '10.0.1.18',
                  IPAMKey: { networkName: '', containerID: '', ifName: '' },
                  AssignedTime: '2024-01-01T00:00:00Z',
                  UnassignedTime: '2024-01-02T00:00:00Z',
                },
              },
              IsPrefix: true,
              AddressFamily: '',
            },
            '10.0.1.32/28': { Cidr: { IP: '10.0.1.32', Mask: '////8A==' }, IPAddresses: {}, IsPrefix: true },
          },
          IPv6Cidrs: {},
        },
        'eni-0v19': {
          ID: 'eni-0v19',
          IsPrimary: false,
          DeviceNumber: 1,
          AvailableIPv4Cidrs: {
            '10.0.2.5/32': {
              Cidr: { IP: '10.0.2.5', Mask: '/////w==' },
              IPv4Addresses: {
                '10.0.2.5': {
                  Address: '10.0.2.5',
                  IPAMKey: { networkName: 'aws-cni', containerID: 'c2', ifName: 'eth0' },
                },
              },
              IsPrefix: false,
            },
          },
        },
      },
    });
    expect(result.shape).toBe('cidrs');
    expect(result.prefixDelegation).toBe(true);
    expect(result.enis[0]).toMatchObject({
      id: 'eni-0pd',
      totalIps: 32,
      assignedIps: 1,
      secondaryIps: 0,
      prefixes: ['10.0.1.16/28', '10.0.1.32/28'],
    });
    expect(result.enis[1]).toMatchObject({ id: 'eni-0v19', totalIps: 1, assignedIps: 1, secondaryIps: 1 });
    expect(result).toMatchObject({ totalIps: 33, assignedIps: 2 });
  });

  it('reads the v1.20+ per-network-card map', () => {
    const card = (eni: string, device: number, ips: number, assigned: number) => ({
      TotalIPs: ips,
      AssignedIPs: assigned,
      ENIs: {
        [eni]: {
          ID: eni,
          IsPrimary: device === 0,
          IsTrunk: false,
          IsEFA: false,
          DeviceNumber: device,
          AvailableIPv4Cidrs: Object.fromEntries(
            Array.from({ length: ips }, (_, i) => [
              `10.0.${device}.${10 + i}/32`,
              {
                Cidr: { IP: `10.0.${device}.${10 + i}`, Mask: '/////w==' },
                IPAddresses:
                  i < assigned
                    ? {
                        [`10.0.${device}.${10 + i}`]: {
                          Address: `10.0.${device}.${10 + i}`,
                          IPAMKey: { networkName: 'aws-cni', containerID: `c${i}`, ifName: 'eth0' },
                        },
                      }
                    : {},
                IsPrefix: false,
              },
            ]),
          ),
          IPv6Cidrs: {},
          IsExcludedForPodIPs: false,
          RouteTableID: 254,
          SubnetID: `subnet-0${device}`,
        },
      },
    });
    const result = snapshot({ '0': card('eni-0card0', 0, 3, 3), '1': card('eni-0card1', 0, 2, 1) });
    expect(result.shape).toBe('network-cards');
    expect(result.enis.map((eni) => [eni.id, eni.networkCard, eni.subnetId, eni.totalIps, eni.assignedIps])).toEqual([
      ['eni-0card0', 0, 'subnet-00', 3, 3],
      ['eni-0card1', 1, 'subnet-00', 2, 1],
    ]);
    expect(result.reported).toEqual({ totalIps: 5, assignedIps: 4 });
  });

  it('reads v1.23+ scrubbed assignments from networkName, metadata or AssignedTime', () => {
    // The example of reference/collectors.md §2.2 (v1.23+, containerID and ifName blanked).
    const result = snapshot(
      networkCardEnis({
        totalIps: 29,
        assignedIps: 3,
        cidrs: {
          '10.0.1.23/32': {
            Cidr: { IP: '10.0.1.23', Mask: '/////w==' },
            IPAddresses: {
              '10.0.1.23': {
                Address: '10.0.1.23',
                IPAMKey: { networkName: 'aws-cni', containerID: '', ifName: '' },
                IPAMMetadata: { k8sPodNamespace: 'default', k8sPodName: 'nginx-abc' },
                AssignedTime: '2025-01-01T00:00:00Z',
                UnassignedTime: ZERO,
              },
            },
            IsPrefix: false,
            AddressFamily: '',
          },
          '10.0.1.24/32': {
            Cidr: { IP: '10.0.1.24', Mask: '/////w==' },
            IPAddresses: {
              '10.0.1.24': {
                Address: '10.0.1.24',
                IPAMKey: { networkName: '', containerID: '', ifName: '' },
                IPAMMetadata: { k8sPodNamespace: 'kube-system', k8sPodName: 'coredns-1' },
                AssignedTime: '2025-01-01T00:00:00Z',
                UnassignedTime: ZERO,
              },
            },
            IsPrefix: false,
          },
          '10.0.1.25/32': {
            Cidr: { IP: '10.0.1.25', Mask: '/////w==' },
            IPAddresses: {
              '10.0.1.25': {
                Address: '10.0.1.25',
                IPAMKey: {},
                AssignedTime: '2025-01-02T00:00:00Z',
                UnassignedTime: ZERO,
              },
            },
            IsPrefix: false,
          },
          '10.0.1.26/32': { Cidr: { IP: '10.0.1.26', Mask: '/////w==' }, IPAddresses: {}, IsPrefix: false },
        },
      }),
    );
    expect(result.scrubbed).toBe(true);
    expect(result.enis[0]).toMatchObject({ totalIps: 4, assignedIps: 3, subnetId: 'subnet-0123' });
  });

  it('counts IPv6 assignments and prefixes apart from IPv4', () => {
    const result = snapshot({
      TotalIPs: 0,
      AssignedIPs: 0,
      ENIs: {
        'eni-v6': {
          ID: 'eni-v6',
          IsPrimary: true,
          DeviceNumber: 0,
          AvailableIPv4Cidrs: {},
          IPv6Cidrs: {
            '2001:db8::/80': {
              Cidr: { IP: '2001:db8::', Mask: '////////////////AAA=' },
              IPAddresses: {
                '2001:db8::1': {
                  Address: '2001:db8::1',
                  IPAMKey: { networkName: 'aws-cni', containerID: '', ifName: '' },
                },
              },
              IsPrefix: true,
            },
          },
        },
      },
    });
    expect(result.enis[0]).toMatchObject({ totalIps: 0, ipv6Prefixes: ['2001:db8::/80'], assignedIpv6: 1 });
  });

  it('names the prefix from the mask when the key carries no length', () => {
    const result = snapshot({
      ENIs: { e: { ID: 'e', AvailableIPv4Cidrs: { '10.0.0.16': { Cidr: { IP: '10.0.0.16', Mask: '////8A==' } } } } },
    });
    expect(result.enis[0]).toMatchObject({ prefixes: ['10.0.0.16/28'], totalIps: 16 });
    expect(result.reported).toBeUndefined();
  });

  it('recognizes a bare ENIInfos without ENIs', () => {
    expect(snapshot({ TotalIPs: 0, AssignedIPs: 0, ENIs: {} })).toMatchObject({ shape: 'bare-empty', enis: [] });
  });

  it('does not take the AvailableCommands fallback or other JSON for ENI data', () => {
    expect(
      readEniDocument({ AvailableCommands: ['/v1/enis', '/v1/eni-configs', '/v1/networkutils-env-settings'] }),
    ).toEqual({
      kind: 'available-commands',
      commands: ['/v1/enis', '/v1/eni-configs', '/v1/networkutils-env-settings'],
    });
    expect(readEniDocument([1, 2])).toMatchObject({ kind: 'unrecognized', reason: expect.stringContaining('array') });
    expect(readEniDocument('default')).toMatchObject({ kind: 'unrecognized' });
    expect(readEniDocument(null)).toMatchObject({ kind: 'unrecognized' });
    expect(readEniDocument({})).toMatchObject({ kind: 'unrecognized', reason: 'an empty JSON object' });
    expect(readEniDocument({ '0': 'x' })).toMatchObject({ kind: 'unrecognized' });
  });

  it('tolerates malformed members without throwing', () => {
    const result = snapshot({
      TotalIPs: 'many',
      ENIs: { a: null, b: { AvailableIPv4Cidrs: { 'x/abc': null }, IPv6Cidrs: 5 }, c: { IPv4Addresses: [1] } },
    });
    expect(result.enis.map((eni) => eni.id).sort()).toEqual(['a', 'b', 'c']);
    expect(result.reported).toBeUndefined();
  });
});

describe('readPodsDocument', () => {
  it('reads pre-1.7 pod data', () => {
    // docs/troubleshooting.md before v1.7: map["<pod>_<ns>_<sandbox>"] → {IP, DeviceNumber}
    expect(
      readPodsDocument({ 'coredns-6799fbcd5-ss7tc_kube-system_6397e2': { IP: '192.168.141.2', DeviceNumber: 0 } }),
    ).toEqual({
      kind: 'pods',
      pods: [{ key: 'coredns-6799fbcd5-ss7tc_kube-system_6397e2', ip: '192.168.141.2', deviceNumber: 0 }],
    });
  });

  it('knows the AvailableCommands fallback is not pod data', () => {
    const fallback = {
      AvailableCommands: ['/v1/enis', '/v1/eni-configs', '/v1/networkutils-env-settings', '/v1/ipamd-env-settings'],
    };
    expect(readPodsDocument(fallback)).toMatchObject({ kind: 'available-commands' });
    expect(availableCommandsOf(fallback)).toHaveLength(4);
    expect(availableCommandsOf({ TotalIPs: 1 })).toBeUndefined();
    expect(readPodsDocument({ x: { DeviceNumber: 1 } })).toMatchObject({ kind: 'unrecognized' });
  });
});

describe('describeEni', () => {
  it('summarizes one ENI', () => {
    const [eni] = snapshot({
      ENIs: {
        e: {
          ID: 'eni-0pd',
          IsPrimary: true,
          AvailableIPv4Cidrs: { '10.0.1.16/28': { IsPrefix: true, IPAddresses: {} } },
        },
      },
    }).enis;
    expect(eni && describeEni(eni)).toBe('eni-0pd: 0/16 IPs assigned, 1 prefix, primary');
  });
});
