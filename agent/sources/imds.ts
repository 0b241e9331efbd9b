/**
 * Instance metadata through IMDSv2, from an allowlist. A token first (PUT /latest/api/token), then GETs with it;
 * off EC2 (or with IMDS blocked) the token request fails within about a second and every IMDS item is skipped with
 * that reason. Credential paths (`iam/security-credentials/`, `identity-credentials/`) are not in the allowlist and
 * cannot be requested: `allowlisted()` refuses anything else before a request is made.
 *
 * The endpoint comes from AWS_EC2_METADATA_SERVICE_ENDPOINT (the variable the AWS SDKs honour), so tests point it at
 * a local server; the default is the link-local address on EC2.
 */
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { ImdsPath } from '../items/types.ts';

export const DEFAULT_IMDS_ENDPOINT = 'http://169.254.169.254';
const TOKEN_TTL_SECONDS = 300;

/** Per-interface fields, as ipamd itself reads them (pkg/awsutils/imds.go). */
export const INTERFACE_FIELDS = [
  'device-number',
  'interface-id',
  'network-card',
  'subnet-id',
  'vpc-id',
  'security-group-ids',
  'local-ipv4s',
  'ipv4-prefix',
  'ipv6s',
  'ipv6-prefix',
  'subnet-ipv4-cidr-block',
  'subnet-ipv6-cidr-blocks',
  'vpc-ipv4-cidr-blocks',
  'vpc-ipv6-cidr-blocks',
] as const;

/** Fields IMDS answers with one value per line. */
const LIST_FIELDS = new Set<string>([
  'local-ipv4s',
  'ipv4-prefix',
  'ipv6s',
  'ipv6-prefix',
  'security-group-ids',
  'subnet-ipv6-cidr-blocks',
  'vpc-ipv4-cidr-blocks',
  'vpc-ipv6-cidr-blocks',
]);

const INSTANCE_FIELDS = [
  'instance-id',
  'instance-type',
  'ami-id',
  'local-ipv4',
  'mac',
  'placement/region',
  'placement/availability-zone',
] as const;

const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

/** True for the metadata paths the agent may read; everything else (credentials above all) is refused. */
export function allowlisted(path: string): boolean {
  if ((INSTANCE_FIELDS as readonly string[]).includes(path)) return true;
  if (path === 'network/interfaces/macs/') return true;
  const match = /^network\/interfaces\/macs\/([^/]+)\/([a-z0-9-]+)$/.exec(path);
  return (
    match !== null &&
    MAC.test(match[1] as string) &&
    (INTERFACE_FIELDS as readonly string[]).includes(match[2] as string)
  );
}

interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * Whether to ask IMDS at all, and where. An explicit AWS_EC2_METADATA_SERVICE_ENDPOINT is always used (tests point it at
 * loopback). Otherwise IMDS is asked only on an EC2 instance, as its DMI data says, and never for a `--root` tree:
 * that metadata would be this machine's, not the node's. Off EC2 nothing is sent at all.
 */
export async function imdsEndpointFor(
  root: string,
  env: NodeJS.ProcessEnv = process.env,
  readText: (path: string) => Promise<string> = (path) => readFile(path, 'utf8'),
): Promise<{ endpoint: string } | { skip: string }> {
  if (env.AWS_EC2_METADATA_SERVICE_ENDPOINT) return { endpoint: env.AWS_EC2_METADATA_SERVICE_ENDPOINT };
  if (env.AWS_EC2_METADATA_DISABLED === 'true') return { skip: 'AWS_EC2_METADATA_DISABLED=true' };
  if (root !== '/') return { skip: 'not read for a --root tree (it would describe this machine, not the node)' };
  for (const [path, pattern] of [
    ['/sys/class/dmi/id/sys_vendor', /^Amazon EC2/],
    ['/sys/class/dmi/id/board_asset_tag', /^i-[0-9a-f]+/],
    ['/sys/hypervisor/uuid', /^ec2/i],
  ] as const) {
    const text = await readText(path).catch(() => '');
    if (pattern.test(text.trim())) return { endpoint: DEFAULT_IMDS_ENDPOINT };
  }
  return { skip: 'not an EC2 instance (no EC2 DMI or hypervisor data), so IMDS was not asked' };
}

export class ImdsClient {
  readonly #base: URL;
  readonly #timeoutMs: number;
  #token: Promise<string | Error> | undefined;
  /** Paths requested, for the manifest's source field and for tests. */
  readonly requested: string[] = [];

  constructor(endpoint = process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT || DEFAULT_IMDS_ENDPOINT, timeoutMs = 1500) {
    this.#base = new URL(endpoint);
    this.#timeoutMs = timeoutMs;
  }

  /** One metadata value, or an Error saying why not (not on EC2, 404, timeout). */
  async get(path: string): Promise<string | Error> {
    if (!allowlisted(path)) return new Error(`refused: ${path} is not an allowlisted metadata path`);
    const token = await this.#tokenOnce();
    if (token instanceof Error) return token;
    this.requested.push(path);
    const answer = await this.#http('GET', `/latest/meta-data/${path}`, { 'X-aws-ec2-metadata-token': token });
    if (answer instanceof Error) return answer;
    if (answer.status !== 200) return new Error(`HTTP ${answer.status} for ${path}`);
    return answer.body;
  }

  /** A value from the ImdsPath list, or the network-interfaces document (JSON text). */
  async read(path: ImdsPath): Promise<string | Error> {
    if (path !== 'network-interfaces') {
      const value = await this.get(path);
      return value instanceof Error ? value : `${value.trim()}\n`;
    }
    const instance: Record<string, string> = {};
    for (const field of INSTANCE_FIELDS) {
      const value = await this.get(field);
      if (value instanceof Error) {
        if (/not on EC2|timed out|refused|unreachable/.test(value.message)) return value;
        continue;
      }
      instance[field] = value.trim();
    }
    const macs = await this.get('network/interfaces/macs/');
    if (macs instanceof Error) return macs;
    const interfaces: Record<string, string | string[]>[] = [];
    for (const entry of macs.split('\n')) {
      const mac = entry.trim().replace(/\/$/, '');
      if (!MAC.test(mac)) continue;
      const fields: Record<string, string | string[]> = { mac };
      for (const field of INTERFACE_FIELDS) {
        const value = await this.get(`network/interfaces/macs/${mac}/${field}`);
        if (value instanceof Error) continue; // absent fields 404 (no prefixes, no IPv6, single network card)
        const lines = value
          .split('\n')
          .map((line) => line.trim())
          .filter(Boolean);
        fields[field] = LIST_FIELDS.has(field) ? lines : (lines[0] ?? '');
      }
      interfaces.push(fields);
    }
    interfaces.sort((a, b) => Number(a['device-number'] ?? 0) - Number(b['device-number'] ?? 0));
    return `${JSON.stringify({ instance, interfaces }, null, 2)}\n`;
  }

  #tokenOnce(): Promise<string | Error> {
    this.#token ??= (async () => {
      const answer = await this.#http('PUT', '/latest/api/token', {
        'X-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_SECONDS),
      });
      if (answer instanceof Error) return new Error(`not on EC2, or IMDS unreachable: ${answer.message}`);
      if (answer.status !== 200) return new Error(`IMDSv2 token refused: HTTP ${answer.status}`);
      return answer.body.trim();
    })();
    return this.#token;
  }

  #http(method: 'GET' | 'PUT', path: string, headers: Record<string, string>): Promise<HttpAnswer | Error> {
    return new Promise((resolve) => {
      const req = request(
        {
          protocol: this.#base.protocol,
          hostname: this.#base.hostname,
          port: this.#base.port,
          method,
          path,
          headers,
          timeout: this.#timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let bytes = 0;
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (bytes <= 1024 * 1024) chunks.push(chunk);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (error) => resolve(error));
        },
      );
      req.on('timeout', () => {
        req.destroy(new Error(`timed out after ${this.#timeoutMs} ms`));
      });
      req.on('error', (error: NodeJS.ErrnoException) =>
        resolve(new Error(error.code === 'ECONNREFUSED' ? 'connection refused' : error.message)),
      );
      req.end();
    });
  }
}
