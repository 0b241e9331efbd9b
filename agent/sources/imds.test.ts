/**
 * IMDS against a local server that behaves like IMDSv2 on the wire: token by PUT with a TTL header, 401 without a
 * token, 404 for absent fields. The server records every path so the test can prove no credential path is asked for.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowlisted, ImdsClient, imdsEndpointFor } from './imds.ts';

const TOKEN = 'AQAEAFakeTokenForTests==';
const metadata: Record<string, string> = {
  'instance-id': 'i-0abc123def4567890',
  'instance-type': 'm5.large',
  'ami-id': 'ami-0c1d2e3f4a5b6c7d8',
  'local-ipv4': '10.0.1.23',
  mac: '0a:1b:2c:3d:4e:5f',
  'placement/region': 'us-east-1',
  'placement/availability-zone': 'us-east-1a',
  'network/interfaces/macs/': '0a:1b:2c:3d:4e:5f/\n0a:1b:2c:3d:4e:60/',
  'network/interfaces/macs/0a:1b:2c:3d:4e:5f/device-number': '0',
  'network/interfaces/macs/0a:1b:2c:3d:4e:5f/interface-id': 'eni-0aaa',
  'network/interfaces/macs/0a:1b:2c:3d:4e:5f/subnet-id': 'subnet-0123',
  'network/interfaces/macs/0a:1b:2c:3d:4e:5f/local-ipv4s': '10.0.1.23\n10.0.1.40\n10.0.1.41',
  'network/interfaces/macs/0a:1b:2c:3d:4e:5f/security-group-ids': 'sg-0a\nsg-0b',
  'network/interfaces/macs/0a:1b:2c:3d:4e:60/device-number': '1',
  'network/interfaces/macs/0a:1b:2c:3d:4e:60/interface-id': 'eni-0bbb',
  'network/interfaces/macs/0a:1b:2c:3d:4e:60/ipv4-prefix': '10.0.1.48/28',
  'iam/security-credentials/eks-node-role': '{"AccessKeyId":"ASIA...","SecretAccessKey":"never"}',
};

let server: Server;
let endpoint: string;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return void res.writeHead(400).end();
      return void res.writeHead(200).end(TOKEN);
    }
    if (req.headers['x-aws-ec2-metadata-token'] !== TOKEN) return void res.writeHead(401).end();
    const path = (req.url ?? '').replace('/latest/meta-data/', '');
    const value = metadata[path];
    if (value === undefined) return void res.writeHead(404).end();
    res.writeHead(200).end(value);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
});

describe('ImdsClient', () => {
  it('reads single values with an IMDSv2 token', async () => {
    const client = new ImdsClient(endpoint);
    expect(await client.read('instance-type')).toBe('m5.large\n');
    expect(await client.read('placement/region')).toBe('us-east-1\n');
    expect(seen.filter((request) => request.startsWith('PUT'))).toHaveLength(1);
  });

  it('builds the network-interfaces document from the allowlist, skipping absent fields', async () => {
    const client = new ImdsClient(endpoint);
    const document = JSON.parse((await client.read('network-interfaces')) as string);
    expect(document.instance).toMatchObject({ 'instance-id': 'i-0abc123def4567890', 'placement/region': 'us-east-1' });
    expect(document.interfaces).toEqual([
      {
        mac: '0a:1b:2c:3d:4e:5f',
        'device-number': '0',
        'interface-id': 'eni-0aaa',
        'subnet-id': 'subnet-0123',
        'local-ipv4s': ['10.0.1.23', '10.0.1.40', '10.0.1.41'],
        'security-group-ids': ['sg-0a', 'sg-0b'],
      },
      { mac: '0a:1b:2c:3d:4e:60', 'device-number': '1', 'interface-id': 'eni-0bbb', 'ipv4-prefix': ['10.0.1.48/28'] },
    ]);
  });

  it('never asks for credential paths, and refuses them before any request', async () => {
    const client = new ImdsClient(endpoint);
    const before = seen.length;
    const refused = await client.get('iam/security-credentials/eks-node-role');
    expect(refused).toBeInstanceOf(Error);
    expect(seen.length).toBe(before);
    expect(seen.some((request) => /iam|credential/.test(request))).toBe(false);
    expect(allowlisted('identity-credentials/ec2/security-credentials/ec2-instance')).toBe(false);
    expect(allowlisted('network/interfaces/macs/0a:1b:2c:3d:4e:5f/../../iam/info')).toBe(false);
  });

  it('fails fast off EC2 (nothing listening)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    const started = Date.now();
    const value = await new ImdsClient(`http://127.0.0.1:${port}`).read('instance-id');
    expect(value).toBeInstanceOf(Error);
    expect((value as Error).message).toMatch(/not on EC2.*connection refused/);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('gives up within its timeout when IMDS accepts and never answers', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const value = await new ImdsClient(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, 300).read(
      'instance-id',
    );
    expect((value as Error).message).toMatch(/not on EC2.*timed out/);
    silent.closeAllConnections();
    silent.close();
  });
});

describe('imdsEndpointFor', () => {
  const none = async () => {
    throw new Error('ENOENT');
  };
  it('uses an explicit endpoint (tests), and asks nothing off EC2 or for a --root tree', async () => {
    expect(await imdsEndpointFor('/', { AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9' }, none)).toEqual({
      endpoint: 'http://127.0.0.1:9',
    });
    expect(await imdsEndpointFor('/', {}, none)).toMatchObject({ skip: expect.stringMatching(/not an EC2 instance/) });
    expect(await imdsEndpointFor('/mnt/node', {}, none)).toMatchObject({ skip: expect.stringMatching(/--root/) });
    expect(await imdsEndpointFor('/', { AWS_EC2_METADATA_DISABLED: 'true' }, none)).toMatchObject({
      skip: expect.any(String),
    });
  });

  it('recognizes an EC2 instance by its DMI vendor', async () => {
    const dmi = async (path: string) => (path.endsWith('sys_vendor') ? 'Amazon EC2\n' : '');
    expect(await imdsEndpointFor('/', {}, dmi)).toEqual({ endpoint: 'http://169.254.169.254' });
  });
});
