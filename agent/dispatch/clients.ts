/**
 * The engineer's AWS clients, configured the SDK's standard way so that VPC endpoints, FIPS endpoints and local test
 * servers work with no code change: credentials and region from the default chain (`--profile` / AWS_PROFILE,
 * AWS_REGION, the shared config file), endpoints from AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL_S3 or
 * the profile's `services` section.
 *
 * Retries: a fleet dispatch polls and downloads a lot, so throttling and 5xx must not end it. Unless the user set
 * them (AWS_RETRY_MODE / AWS_MAX_ATTEMPTS or `retry_mode` / `max_attempts` in the profile), the clients retry in the
 * SDK's `standard` mode with 10 attempts instead of 3. `adaptive` (AWS_RETRY_MODE=adaptive) also works, but its
 * client-side rate limiter, tuned on the few calls a dispatch makes, can slow following to a crawl after a couple of
 * throttles (the scale test shows it: same table, twice the time).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { loadConfig } from '@smithy/core/config';
import { NODE_MAX_ATTEMPT_CONFIG_OPTIONS, NODE_RETRY_MODE_CONFIG_OPTIONS } from '@smithy/core/retry';

export const DEFAULT_MAX_ATTEMPTS = 10;
export const DEFAULT_RETRY_MODE = 'standard';

export interface AwsSettings {
  region?: string;
  profile?: string;
}

/** Requests sent per service and operation, retries included (each attempt counts). */
export class ApiCallCounter {
  readonly counts = new Map<string, number>();

  add(service: string, operation: string): void {
    const key = `${service}:${operation}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  total(service?: string): number {
    let sum = 0;
    for (const [key, count] of this.counts) if (!service || key.startsWith(`${service}:`)) sum += count;
    return sum;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}

export interface DispatchClients {
  ssm: SSMClient;
  /** For API calls: checksums as the SDK defaults them (uploads and downloads are verified). */
  s3: S3Client;
  /**
   * For presigning only: a default client would sign the CRC32 of an empty body into a URL, which S3 then refuses
   * for any real upload, and would ask for checksum validation that curl on the node cannot honour.
   */
  presigner: S3Client;
  region: string;
  calls: ApiCallCounter;
}

type Countable = { middlewareStack: SSMClient['middlewareStack'] | S3Client['middlewareStack'] };

function countCalls(client: Countable, service: string, counter: ApiCallCounter): void {
  // The deserialize step runs once per attempt, inside the retry middleware.
  (client.middlewareStack as SSMClient['middlewareStack']).add(
    (next, context) => async (args) => {
      counter.add(service, String(context.commandName ?? 'unknown').replace(/Command$/, ''));
      return next(args);
    },
    { step: 'deserialize', name: 'eksNodeDiagCallCounter', priority: 'low' },
  );
}

export async function createClients(settings: AwsSettings, counter = new ApiCallCounter()): Promise<DispatchClients> {
  const profile = settings.profile ? { profile: settings.profile } : {};
  const retry = {
    maxAttempts: loadConfig({ ...NODE_MAX_ATTEMPT_CONFIG_OPTIONS, default: DEFAULT_MAX_ATTEMPTS }, profile),
    retryMode: loadConfig({ ...NODE_RETRY_MODE_CONFIG_OPTIONS, default: DEFAULT_RETRY_MODE }, profile),
  };
  const common = { ...profile, ...(settings.region ? { region: settings.region } : {}), ...retry };
  const ssm = new SSMClient(common);
  const s3 = new S3Client(common);
  const presigner = new S3Client({
    ...common,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  countCalls(ssm, 'ssm', counter);
  countCalls(s3, 's3', counter);
  let region: string;
  try {
    region = await ssm.config.region();
  } catch {
    region = '';
  }
  if (!region)
    throw Object.assign(
      new Error('no AWS region: give --region, set AWS_REGION, or set region in the profile (~/.aws/config)'),
      { code: 'ENDIAG_USAGE' },
    );
  return { ssm, s3, presigner, region, calls: counter };
}

export function destroyClients(clients: DispatchClients): void {
  clients.ssm.destroy();
  clients.s3.destroy();
  clients.presigner.destroy();
}

/** An AWS SDK error's name (its error code) and message, for one line of output. */
export function awsErrorText(error: unknown): string {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
  return `${e.name ?? 'Error'}${status}: ${e.message ?? String(error)}`;
}

export function awsErrorName(error: unknown): string | undefined {
  return (error as { name?: string }).name;
}
