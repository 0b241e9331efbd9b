/**
 * A local S3 endpoint on 127.0.0.1 that speaks S3's REST wire protocol closely enough that a client which works
 * against it works against S3: path-style PUT, GET and HEAD Object, ListObjectsV2 and POST Object (browser-based
 * upload forms), S3's error XML, and SigV4 checked the way S3 checks it:
 *   - presigned query-string URLs (X-Amz-Algorithm/Credential/Date/Expires/SignedHeaders/Signature; expiry, region,
 *     unknown keys, unsigned `x-amz-*` headers, checksums signed into the URL);
 *   - `Authorization` header requests as the SDK sends them (payload hash, `aws-chunked` with an unsigned trailer);
 *   - POST policies (base64 JSON document signed with the SigV4 signing key; expiration, eq/starts-with conditions,
 *     content-length-range, every form field covered by a condition).
 * S3's own quirks are kept where a client could come to depend on their absence: a PUT needs Content-Length (plain
 * `Transfer-Encoding: chunked` gets 501 NotImplemented, as on S3), and checksums are verified (a presigned URL from a
 * default-configured SDK client embeds the CRC32 of an empty body, which S3 answers with 400 BadDigest).
 * Whether S3 takes a POST without Content-Length is not documented either way; this server refuses it (411).
 *
 * Buckets and objects live in memory; tests read them back with `objects()`/`object()`. `failNext()` injects faults
 * into the next requests: an S3 error status (503 SlowDown, 500 InternalError, ...) or a connection dropped in the
 * middle of the request body. Every request is recorded in `requests`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { crc32 } from 'node:zlib';
import {
  amzDate,
  type CredentialScope,
  canonicalQuery,
  canonicalRequest,
  closeNow,
  hmacSha256,
  listenOnLoopback,
  parseAmzDate,
  parseAuthorization,
  parseCredentialScope,
  parseQuery,
  readRequestBody,
  SIGV4_ALGORITHM,
  sameHex,
  sendDocument,
  sha256Hex,
  sign,
  signingKey,
  sigV4Encode,
} from './aws-wire.ts';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** When set, requests signed with this key must carry the same X-Amz-Security-Token. */
  sessionToken?: string;
}

export interface S3ServerOptions {
  region?: string;
  credentials?: S3Credentials[];
  buckets?: string[];
  /** The server's clock (ms since the epoch), for expiry tests. */
  now?: () => number;
  /** Largest object accepted (S3's single PUT limit is 5 GiB; objects are held in memory here). */
  maxObjectBytes?: number;
}

export interface StoredObject {
  bucket: string;
  key: string;
  body: Buffer;
  /** Quoted, as S3 sends it: `"<md5 hex>"`. */
  etag: string;
  contentType: string;
  lastModified: Date;
  metadata: Record<string, string>;
  /** How it arrived. */
  via: 'put' | 'post';
}

export type S3Fault =
  /**
   * Answer with this S3 error, after reading the request body, or with `early` before reading it and then close the
   * connection (as S3 does when it can refuse from the headers alone): the client's writes then fail mid-body.
   */
  | { kind: 'error'; status: number; code: string; message?: string; early?: boolean }
  /** Read this many bytes of the request body (at least one chunk), then destroy the connection. */
  | { kind: 'drop'; afterBytes?: number };

export const SLOW_DOWN = { kind: 'error', status: 503, code: 'SlowDown' } as const satisfies S3Fault;
export const INTERNAL_ERROR = { kind: 'error', status: 500, code: 'InternalError' } as const satisfies S3Fault;
export const DROP_MID_BODY = { kind: 'drop', afterBytes: 1 } as const satisfies S3Fault;

export interface RecordedRequest {
  method: string;
  path: string;
  bucket?: string;
  key?: string;
  auth: 'presigned' | 'header' | 'post-policy' | 'anonymous';
  status: number;
  /** S3 error code, when the answer was an error. */
  code?: string;
  fault?: S3Fault['kind'];
}

export const DEFAULT_CREDENTIALS: S3Credentials = {
  accessKeyId: 'AKIATESTUPLOAD000001',
  secretAccessKey: 'test/secret/key/for/the/local/s3/server00',
};

const MAX_PRESIGN_SECONDS = 604_800;
const MAX_SKEW_MS = 15 * 60 * 1000;
const ERROR_MESSAGES: Record<string, string> = {
  SlowDown: 'Please reduce your request rate.',
  InternalError: 'We encountered an internal error. Please try again.',
  ServiceUnavailable: 'Service is unable to handle request.',
  AccessDenied: 'Access Denied',
};

class S3Error extends Error {
  // Plain fields, not parameter properties: scripts load this file with Node's type stripping, which lacks them.
  readonly status: number;
  readonly code: string;
  readonly extra: Record<string, string | number>;
  constructor(status: number, code: string, message: string, extra: Record<string, string | number> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

/** Text content needs only these three escaped; S3 leaves quotes alone (its policy messages quote JSON). */
function xmlEscape(text: string): string {
  return text.replace(/[<>&]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&amp;'));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");
  }
}

/** CRC-32C (Castagnoli), which S3 accepts as `x-amz-checksum-crc32c`. */
const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32c(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function uint32Base64(value: number): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out.toString('base64');
}

function checksumOf(algorithm: string, body: Buffer): string | undefined {
  switch (algorithm) {
    case 'crc32':
      return uint32Base64(crc32(body));
    case 'crc32c':
      return uint32Base64(crc32c(body));
    case 'sha1':
      return createHash('sha1').update(body).digest('base64');
    case 'sha256':
      return createHash('sha256').update(body).digest('base64');
    default:
      return undefined;
  }
}

/** Verifies every `x-amz-checksum-<algorithm>` the client declared (in the URL, a header, a trailer or a form). */
function verifyChecksums(declared: Map<string, string>, body: Buffer): Record<string, string> {
  const echoed: Record<string, string> = {};
  for (const [name, expected] of declared) {
    const algorithm = name.slice('x-amz-checksum-'.length);
    if (algorithm === 'type' || algorithm === 'algorithm') continue;
    const actual = checksumOf(algorithm, body);
    if (actual === undefined)
      throw new S3Error(501, 'NotImplemented', `This server does not verify ${name}; refusing rather than pretending`);
    if (actual !== expected)
      throw new S3Error(
        400,
        'BadDigest',
        `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
      );
    echoed[name] = expected;
  }
  return echoed;
}

function verifyContentMd5(header: string | undefined, body: Buffer): void {
  if (header === undefined) return;
  if (!/^[A-Za-z0-9+/]{22}==$/.test(header))
    throw new S3Error(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.');
  if (createHash('md5').update(body).digest('base64') !== header)
    throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
}

/** Decodes an `aws-chunked` body (`<hex-size>[;chunk-signature=...]\r\n<data>\r\n` ... `0\r\n<trailers>\r\n`). */
function decodeAwsChunked(body: Buffer): { data: Buffer; trailers: Map<string, string> } {
  const parts: Buffer[] = [];
  const trailers = new Map<string, string>();
  let offset = 0;
  const malformed = () => new S3Error(400, 'IncompleteBody', 'The request body is not valid aws-chunked encoding.');
  for (;;) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) throw malformed();
    const sizeText = body.subarray(offset, lineEnd).toString('latin1').split(';')[0] ?? '';
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw malformed();
    const size = Number.parseInt(sizeText, 16);
    offset = lineEnd + 2;
    if (size === 0) break;
    if (offset + size + 2 > body.length || body.toString('latin1', offset + size, offset + size + 2) !== '\r\n')
      throw malformed();
    parts.push(body.subarray(offset, offset + size));
    offset += size + 2;
  }
  for (const line of body.subarray(offset).toString('latin1').split('\r\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw malformed();
    trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { data: Buffer.concat(parts), trailers };
}

interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

function parseMultipart(body: Buffer, contentType: string): MultipartPart[] {
  const malformed = () =>
    new S3Error(400, 'MalformedPOSTRequest', 'The body of your POST request is not well-formed multipart/form-data.');
  const boundaryMatch = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = boundaryMatch?.[1] ?? boundaryMatch?.[2];
  if (!boundary) throw malformed();
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let position = body.indexOf(delimiter);
  if (position < 0) throw malformed();
  for (;;) {
    position += delimiter.length;
    if (body.toString('latin1', position, position + 2) === '--') return parts;
    if (body.toString('latin1', position, position + 2) !== '\r\n') throw malformed();
    position += 2;
    const headerEnd = body.indexOf('\r\n\r\n', position);
    if (headerEnd < 0) throw malformed();
    const headers = body.subarray(position, headerEnd).toString('utf8').split('\r\n');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next < 0) throw malformed();
    let name: string | undefined;
    let filename: string | undefined;
    let partType: string | undefined;
    for (const header of headers) {
      const colon = header.indexOf(':');
      if (colon < 0) throw malformed();
      const headerName = header.slice(0, colon).trim().toLowerCase();
      const value = header.slice(colon + 1).trim();
      if (headerName === 'content-disposition') {
        name = /(?:^|;)\s*name="([^"]*)"/i.exec(value)?.[1];
        filename = /;\s*filename="([^"]*)"/i.exec(value)?.[1];
      } else if (headerName === 'content-type') partType = value;
    }
    if (name === undefined) throw malformed();
    parts.push({
      name,
      ...(filename !== undefined ? { filename } : {}),
      ...(partType ? { contentType: partType } : {}),
      data: body.subarray(headerEnd + 4, next),
    });
    position = next + 2;
  }
}

export class S3Server {
  readonly region: string;
  readonly credentials: S3Credentials[];
  readonly requests: RecordedRequest[] = [];
  readonly #buckets = new Map<string, Map<string, StoredObject>>();
  readonly #faults: { fault: S3Fault; method?: string }[] = [];
  readonly #awaitingContinue = new WeakMap<IncomingMessage, ServerResponse>();
  readonly #now: () => number;
  readonly #maxObjectBytes: number;
  readonly #server: Server;
  #url = '';

  private constructor(options: S3ServerOptions) {
    this.region = options.region ?? 'us-east-1';
    this.credentials = options.credentials ?? [DEFAULT_CREDENTIALS];
    this.#now = options.now ?? Date.now;
    this.#maxObjectBytes = options.maxObjectBytes ?? 64 * 1024 * 1024;
    for (const bucket of options.buckets ?? []) this.createBucket(bucket);
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(error));
        else res.destroy();
      });
    };
    this.#server = createServer(handle);
    // `Expect: 100-continue`: as on S3, `100 Continue` goes out only once the request passed the checks that need no
    // body (auth of presigned URLs, framing, injected early faults); a refusal before it saves the client the body.
    this.#server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      this.#awaitingContinue.set(req, res);
      handle(req, res);
    });
  }

  static async start(options: S3ServerOptions = {}): Promise<S3Server> {
    const server = new S3Server(options);
    server.#url = await listenOnLoopback(server.#server);
    return server;
  }

  /** `http://127.0.0.1:<port>`: the endpoint to give the SDK (`endpoint`, or AWS_ENDPOINT_URL_S3). */
  get url(): string {
    return this.#url;
  }

  async close(): Promise<void> {
    await closeNow(this.#server);
  }

  createBucket(name: string): void {
    if (!this.#buckets.has(name)) this.#buckets.set(name, new Map());
  }

  /** Objects of one bucket (or all), by key. */
  objects(bucket?: string): StoredObject[] {
    const buckets = bucket === undefined ? [...this.#buckets.values()] : [this.#buckets.get(bucket) ?? new Map()];
    return buckets
      .flatMap((objects) => [...objects.values()])
      .sort((a, b) => (a.bucket + a.key < b.bucket + b.key ? -1 : 1));
  }

  object(bucket: string, key: string): StoredObject | undefined {
    return this.#buckets.get(bucket)?.get(key);
  }

  /** The next `count` requests (of this method, when given) meet this fault instead of normal service. */
  failNext(count: number, fault: S3Fault, method?: string): void {
    for (let i = 0; i < count; i++) this.#faults.push({ fault, ...(method ? { method } : {}) });
  }

  /** Faults injected but not yet used. */
  get pendingFaults(): number {
    return this.#faults.length;
  }

  #takeFault(method: string): S3Fault | undefined {
    const index = this.#faults.findIndex((entry) => entry.method === undefined || entry.method === method);
    if (index < 0) return undefined;
    return this.#faults.splice(index, 1)[0]?.fault;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const queryStart = rawUrl.indexOf('?');
    const rawPath = queryStart < 0 ? rawUrl : rawUrl.slice(0, queryStart);
    const record: RecordedRequest = { method, path: rawPath, auth: 'anonymous', status: 0 };
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    res.on('finish', () => {
      record.status = res.statusCode;
      this.requests.push(record);
    });
    try {
      const query = parseQuery(queryStart < 0 ? '' : rawUrl.slice(queryStart + 1), safeDecode);
      const slash = rawPath.indexOf('/', 1);
      const bucket = safeDecode(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash));
      const key = slash < 0 ? '' : safeDecode(rawPath.slice(slash + 1));
      if (bucket) record.bucket = bucket;
      if (key) record.key = key;

      const fault = this.#takeFault(method);
      if (fault?.kind === 'drop') {
        record.fault = 'drop';
        await this.#dropMidBody(req, fault.afterBytes ?? 1, record);
        return;
      }
      if (fault) {
        record.fault = 'error';
        if (fault.early) res.shouldKeepAlive = false;
        else await this.#readBody(req, Number.POSITIVE_INFINITY);
        throw new S3Error(fault.status, fault.code, fault.message ?? ERROR_MESSAGES[fault.code] ?? fault.code);
      }

      const objects = bucket ? this.#buckets.get(bucket) : undefined;
      if (!bucket) throw new S3Error(501, 'NotImplemented', 'ListBuckets is not implemented by this server');
      if (method === 'POST' && key === '' && /^multipart\/form-data/i.test(req.headers['content-type'] ?? '')) {
        record.auth = 'post-policy';
        await this.#postObject(req, res, bucket, objects, record);
        return;
      }
      if (method === 'PUT' && key) this.#checkPutFraming(req);
      const auth = await this.#authenticate(req, method, rawPath, query, () =>
        this.#readBody(req, this.#maxObjectBytes),
      );
      record.auth = auth.kind;
      if (!objects)
        throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });

      if (method === 'PUT' && key) {
        const declared = new Map<string, string>();
        for (const [name, value] of query)
          if (name.toLowerCase().startsWith('x-amz-checksum-')) declared.set(name.toLowerCase(), value);
        for (const [name, value] of Object.entries(req.headers))
          if (name.startsWith('x-amz-checksum-') && typeof value === 'string') declared.set(name, value);
        for (const [name, value] of auth.trailers) if (name.startsWith('x-amz-checksum-')) declared.set(name, value);
        const md5 = req.headers['content-md5'];
        verifyContentMd5(typeof md5 === 'string' ? md5 : undefined, auth.payload);
        const echoed = verifyChecksums(declared, auth.payload);
        const stored = this.#store(objects, bucket, key, auth.payload, 'put', req.headers['content-type'], req.headers);
        res.writeHead(200, { ETag: stored.etag, 'x-amz-request-id': requestId, 'Content-Length': 0, ...echoed }).end();
        return;
      }
      if ((method === 'GET' || method === 'HEAD') && key) {
        const stored = objects.get(key);
        if (!stored) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
        const headers: Record<string, string | number> = {
          ETag: stored.etag,
          'Content-Type': stored.contentType,
          'Content-Length': stored.body.length,
          'Last-Modified': stored.lastModified.toUTCString(),
          'Accept-Ranges': 'bytes',
          'x-amz-request-id': requestId,
        };
        for (const [name, value] of Object.entries(stored.metadata)) headers[`x-amz-meta-${name}`] = value;
        res.writeHead(200, headers);
        res.end(method === 'HEAD' ? undefined : stored.body);
        return;
      }
      if (method === 'GET' && !key && query.some(([name, value]) => name === 'list-type' && value === '2')) {
        const prefix = query.find(([name]) => name === 'prefix')?.[1] ?? '';
        const listed = [...objects.values()]
          .filter((o) => o.key.startsWith(prefix))
          .sort((a, b) => (a.key < b.key ? -1 : 1));
        const contents = listed
          .map(
            (o) =>
              `<Contents><Key>${xmlEscape(o.key)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified>` +
              `<ETag>${xmlEscape(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
          )
          .join('');
        const xml =
          '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
          `<Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${listed.length}</KeyCount>` +
          `<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`;
        res.writeHead(200, { 'Content-Type': 'application/xml', 'x-amz-request-id': requestId }).end(xml);
        return;
      }
      throw new S3Error(501, 'NotImplemented', `${method} ${key ? 'on an object' : 'on a bucket'} is not implemented`);
    } catch (error) {
      if (!(error instanceof S3Error)) throw error;
      record.code = error.code;
      this.#sendError(req, res, error, requestId);
    }
  }

  #sendError(req: IncomingMessage, res: ServerResponse, error: S3Error, requestId: string): void {
    if (res.headersSent || res.destroyed) return;
    const extra = Object.entries(error.extra)
      .map(([name, value]) => `<${name}>${xmlEscape(String(value))}</${name}>`)
      .join('');
    const xml =
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${xmlEscape(error.message)}</Message>` +
      `${extra}<RequestId>${requestId}</RequestId><HostId>${randomBytes(24).toString('base64')}</HostId></Error>`;
    const headers = {
      'Content-Type': 'application/xml',
      'x-amz-request-id': requestId,
      ...(error.code === 'SlowDown' || !res.shouldKeepAlive ? { Connection: 'close' } : {}),
    };
    sendDocument(res, error.status, xml, headers, req.method !== 'HEAD');
  }

  /** S3 needs the length of a PUT up front, unless the body is aws-chunked with its decoded length declared. */
  #checkPutFraming(req: IncomingMessage): void {
    const chunked = /chunked/i.test(req.headers['transfer-encoding'] ?? '');
    const awsChunked = /aws-chunked/i.test(req.headers['content-encoding'] ?? '');
    if (chunked && !(awsChunked && req.headers['x-amz-decoded-content-length'] !== undefined)) {
      throw new S3Error(501, 'NotImplemented', 'A header you provided implies functionality that is not implemented', {
        Header: 'Transfer-Encoding',
      });
    }
    if (!chunked && req.headers['content-length'] === undefined)
      throw new S3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
  }

  /** Sends `100 Continue` if the client waits for it: its body is about to be read. */
  #continue(req: IncomingMessage): void {
    const res = this.#awaitingContinue.get(req);
    this.#awaitingContinue.delete(req);
    if (res && !res.headersSent) res.writeContinue();
  }

  async #readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
    this.#continue(req);
    const { body, size } = await readRequestBody(req, limit);
    if (size > limit)
      throw new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', {
        ProposedSize: size,
        MaxSizeAllowed: limit,
      });
    return body;
  }

  async #dropMidBody(req: IncomingMessage, afterBytes: number, record: RecordedRequest): Promise<void> {
    this.#continue(req);
    let received = 0;
    await new Promise<void>((resolve) => {
      const drop = () => {
        req.off('data', onData);
        req.socket.destroy();
        resolve();
      };
      const onData = (chunk: Buffer) => {
        received += chunk.length;
        if (received >= afterBytes) drop();
      };
      req.on('data', onData);
      req.on('end', drop);
      req.on('error', drop);
    });
    // No response goes out, so 'finish' never fires: record the request here.
    record.status = 0;
    this.requests.push(record);
  }

  #findCredentials(accessKeyId: string): S3Credentials {
    const found = this.credentials.find((c) => c.accessKeyId === accessKeyId);
    if (!found)
      throw new S3Error(
        403,
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
        {
          AWSAccessKeyId: accessKeyId,
        },
      );
    return found;
  }

  #parseCredential(text: string, errorCode: string, errorStatus: number): CredentialScope {
    const scope = parseCredentialScope(text);
    if (!scope)
      throw new S3Error(
        errorStatus,
        errorCode,
        `Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`,
      );
    const { region, service } = scope;
    if (region !== this.region)
      throw new S3Error(
        errorStatus,
        errorCode,
        `Error parsing the X-Amz-Credential parameter; the region '${region}' is wrong; expecting '${this.region}'`,
        { Region: this.region },
      );
    if (service !== 's3')
      throw new S3Error(
        errorStatus,
        errorCode,
        `Error parsing the X-Amz-Credential parameter; incorrect service "${service}". This endpoint belongs to "s3".`,
      );
    return scope;
  }

  #checkToken(credentials: S3Credentials, token: string | undefined): void {
    if (credentials.sessionToken === undefined && token === undefined) return;
    if (credentials.sessionToken !== token)
      throw new S3Error(400, 'InvalidToken', 'The provided token is malformed or otherwise invalid.');
  }

  #verifySignature(
    credentials: S3Credentials,
    credential: CredentialScope,
    date: string,
    canonical: string,
    provided: string,
  ): void {
    const { stringToSign, signature: expected } = sign(credentials.secretAccessKey, credential, date, canonical);
    if (!sameHex(expected, provided.toLowerCase()))
      throw new S3Error(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        {
          AWSAccessKeyId: credential.accessKeyId,
          StringToSign: stringToSign,
          SignatureProvided: provided,
          CanonicalRequest: canonical,
        },
      );
  }

  #checkSignedHeaders(req: IncomingMessage, signed: string[], exempt: string[]): void {
    if (!signed.includes('host'))
      throw new S3Error(403, 'AccessDenied', 'There were headers present in the request which were not signed', {
        HeadersNotSigned: 'host',
      });
    const unsigned = Object.keys(req.headers).filter(
      (name) => name.startsWith('x-amz-') && !signed.includes(name) && !exempt.includes(name),
    );
    if (unsigned.length > 0)
      throw new S3Error(403, 'AccessDenied', 'There were headers present in the request which were not signed', {
        HeadersNotSigned: unsigned.join(', '),
      });
  }

  #canonicalRequest(
    req: IncomingMessage,
    method: string,
    rawPath: string,
    query: [string, string][],
    signed: string[],
    payloadHash: string,
  ): string {
    const uri = rawPath
      .split('/')
      .map((segment) => sigV4Encode(safeDecode(segment)))
      .join('/');
    return canonicalRequest(req, method, uri, canonicalQuery(query), signed, payloadHash);
  }

  /** A presigned URL is checked before the body is read; a header signature may cover the body, so after. */
  async #authenticate(
    req: IncomingMessage,
    method: string,
    rawPath: string,
    query: [string, string][],
    readBody: () => Promise<Buffer>,
  ): Promise<{ kind: RecordedRequest['auth']; payload: Buffer; trailers: Map<string, string> }> {
    const param = (name: string) => query.find(([k]) => k === name)?.[1];
    if (param('X-Amz-Signature') !== undefined || param('X-Amz-Algorithm') !== undefined) {
      this.#authenticatePresigned(req, method, rawPath, query, param);
      return { kind: 'presigned', payload: await readBody(), trailers: new Map() };
    }
    const authorization = req.headers.authorization;
    if (authorization !== undefined)
      return this.#authenticateHeader(req, method, rawPath, query, await readBody(), authorization);
    throw new S3Error(403, 'AccessDenied', 'Access Denied');
  }

  #authenticatePresigned(
    req: IncomingMessage,
    method: string,
    rawPath: string,
    query: [string, string][],
    param: (name: string) => string | undefined,
  ): void {
    const required = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders'];
    if (required.some((name) => param(name) === undefined) || param('X-Amz-Expires') === undefined)
      throw new S3Error(
        400,
        'AuthorizationQueryParametersError',
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      );
    if (param('X-Amz-Algorithm') !== SIGV4_ALGORITHM)
      throw new S3Error(400, 'AuthorizationQueryParametersError', 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    const date = param('X-Amz-Date') as string;
    const signedAt = parseAmzDate(date);
    if (signedAt === undefined)
      throw new S3Error(
        400,
        'AuthorizationQueryParametersError',
        "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
      );
    const expiresText = param('X-Amz-Expires') as string;
    const expires = /^\d+$/.test(expiresText) ? Number(expiresText) : Number.NaN;
    if (!Number.isInteger(expires) || expires < 1)
      throw new S3Error(400, 'AuthorizationQueryParametersError', 'X-Amz-Expires should be a number greater than 0');
    if (expires > MAX_PRESIGN_SECONDS)
      throw new S3Error(
        400,
        'AuthorizationQueryParametersError',
        'X-Amz-Expires must be less than a week (in seconds) that is 604800',
      );
    const credential = this.#parseCredential(
      param('X-Amz-Credential') as string,
      'AuthorizationQueryParametersError',
      400,
    );
    if (credential.date !== date.slice(0, 8))
      throw new S3Error(
        400,
        'AuthorizationQueryParametersError',
        `Error parsing the X-Amz-Credential parameter; incorrect date. This date in the credential must be in the format "yyyyMMdd".`,
      );
    const credentials = this.#findCredentials(credential.accessKeyId);
    const now = this.#now();
    if (now > signedAt + expires * 1000)
      throw new S3Error(403, 'AccessDenied', 'Request has expired', {
        'X-Amz-Expires': expires,
        Expires: new Date(signedAt + expires * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        ServerTime: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      });
    if (signedAt - now > MAX_SKEW_MS) throw new S3Error(403, 'AccessDenied', 'Request is not valid yet');
    const signed = (param('X-Amz-SignedHeaders') as string).split(';');
    this.#checkSignedHeaders(req, signed, []);
    const payloadHash = param('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD';
    const canonical = this.#canonicalRequest(
      req,
      method,
      rawPath,
      query.filter(([name]) => name !== 'X-Amz-Signature'),
      signed,
      payloadHash,
    );
    this.#verifySignature(credentials, credential, date, canonical, param('X-Amz-Signature') as string);
    this.#checkToken(credentials, param('X-Amz-Security-Token'));
  }

  #authenticateHeader(
    req: IncomingMessage,
    method: string,
    rawPath: string,
    query: [string, string][],
    body: Buffer,
    authorization: string,
  ): { kind: 'header'; payload: Buffer; trailers: Map<string, string> } {
    const parsed = parseAuthorization(authorization);
    if (!parsed)
      throw new S3Error(
        400,
        'AuthorizationHeaderMalformed',
        'The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.',
      );
    const { signedHeaders: signed, signature } = parsed;
    const credential = this.#parseCredential(parsed.credential, 'AuthorizationHeaderMalformed', 400);
    const date = req.headers['x-amz-date'];
    const signedAt = parseAmzDate(typeof date === 'string' ? date : undefined);
    if (signedAt === undefined || typeof date !== 'string')
      throw new S3Error(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
    const credentials = this.#findCredentials(credential.accessKeyId);
    if (Math.abs(this.#now() - signedAt) > MAX_SKEW_MS)
      throw new S3Error(
        403,
        'RequestTimeTooSkewed',
        'The difference between the request time and the current time is too large.',
        {
          RequestTime: date,
          ServerTime: amzDate(this.#now()),
        },
      );
    const payloadHash = req.headers['x-amz-content-sha256'];
    if (typeof payloadHash !== 'string')
      throw new S3Error(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    this.#checkSignedHeaders(req, signed, ['x-amz-content-sha256']);
    const canonical = this.#canonicalRequest(req, method, rawPath, query, signed, payloadHash);
    this.#verifySignature(credentials, credential, date, canonical, signature);
    const token = req.headers['x-amz-security-token'];
    this.#checkToken(credentials, typeof token === 'string' ? token : undefined);

    if (payloadHash === 'UNSIGNED-PAYLOAD') return { kind: 'header', payload: body, trailers: new Map() };
    if (payloadHash === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') {
      const decoded = decodeAwsChunked(body);
      const declaredLength = Number(req.headers['x-amz-decoded-content-length']);
      if (decoded.data.length !== declaredLength)
        throw new S3Error(
          400,
          'IncompleteBody',
          'You did not provide the number of bytes specified by the Content-Length HTTP header',
        );
      return { kind: 'header', payload: decoded.data, trailers: decoded.trailers };
    }
    if (payloadHash.startsWith('STREAMING-'))
      throw new S3Error(501, 'NotImplemented', `x-amz-content-sha256 ${payloadHash} is not implemented by this server`);
    if (!/^[0-9a-f]{64}$/.test(payloadHash))
      throw new S3Error(
        400,
        'InvalidArgument',
        'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-* or a SHA-256 hex digest',
      );
    if (sha256Hex(body) !== payloadHash)
      throw new S3Error(
        400,
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        {
          ClientComputedContentSHA256: payloadHash,
          S3ComputedContentSHA256: sha256Hex(body),
        },
      );
    return { kind: 'header', payload: body, trailers: new Map() };
  }

  async #postObject(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    objects: Map<string, StoredObject> | undefined,
    record: RecordedRequest,
  ): Promise<void> {
    if (req.headers['content-length'] === undefined)
      throw new S3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
    const body = await this.#readBody(req, this.#maxObjectBytes + 1024 * 1024);
    const parts = parseMultipart(body, req.headers['content-type'] ?? '');
    // Fields after the file are ignored, as on S3.
    const fileIndex = parts.findIndex((part) => part.name.toLowerCase() === 'file');
    if (fileIndex < 0)
      throw new S3Error(400, 'InvalidArgument', 'POST requires exactly one file upload per request.', {
        ArgumentName: 'file',
        ArgumentValue: '0',
      });
    const file = parts[fileIndex] as MultipartPart;
    const fields = new Map<string, string>();
    for (const part of parts.slice(0, fileIndex)) {
      const name = part.name.toLowerCase();
      if (fields.has(name))
        throw new S3Error(400, 'InvalidArgument', `Bucket POST must contain only one field named '${part.name}'.`);
      fields.set(name, part.data.toString('utf8'));
    }
    const rawKey = fields.get('key');
    if (rawKey === undefined || rawKey === '')
      throw new S3Error(
        400,
        'InvalidArgument',
        "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
        {
          ArgumentName: 'key',
        },
      );
    const policyText = fields.get('policy');
    if (policyText === undefined) throw new S3Error(403, 'AccessDenied', 'Access Denied');

    if (fields.get('x-amz-algorithm') !== SIGV4_ALGORITHM)
      throw new S3Error(
        400,
        'InvalidArgument',
        "Bucket POST must contain a field named 'x-amz-algorithm' set to AWS4-HMAC-SHA256.",
        {
          ArgumentName: 'x-amz-algorithm',
        },
      );
    const signature = fields.get('x-amz-signature');
    const credentialText = fields.get('x-amz-credential');
    const dateText = fields.get('x-amz-date');
    if (signature === undefined || credentialText === undefined || dateText === undefined)
      throw new S3Error(
        400,
        'InvalidArgument',
        'Bucket POST must contain the fields x-amz-credential, x-amz-date and x-amz-signature.',
      );
    const credential = this.#parseCredential(credentialText, 'InvalidArgument', 400);
    const credentials = this.#findCredentials(credential.accessKeyId);
    const expected = hmacSha256(
      signingKey(credentials.secretAccessKey, credential.date, credential.region),
      policyText,
    ).toString('hex');
    if (!sameHex(expected, signature.toLowerCase()))
      throw new S3Error(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        { AWSAccessKeyId: credential.accessKeyId, StringToSign: policyText, SignatureProvided: signature },
      );
    this.#checkToken(credentials, fields.get('x-amz-security-token'));

    let policy: { expiration?: unknown; conditions?: unknown };
    try {
      policy = JSON.parse(Buffer.from(policyText, 'base64').toString('utf8'));
    } catch {
      throw new S3Error(400, 'InvalidPolicyDocument', 'Invalid Policy: Invalid JSON.');
    }
    const expiration = typeof policy.expiration === 'string' ? Date.parse(policy.expiration) : Number.NaN;
    if (Number.isNaN(expiration))
      throw new S3Error(400, 'InvalidPolicyDocument', 'Invalid Policy: Policy missing expiration.');
    if (this.#now() > expiration)
      throw new S3Error(403, 'AccessDenied', 'Invalid according to Policy: Policy expired.');
    if (!Array.isArray(policy.conditions))
      throw new S3Error(400, 'InvalidPolicyDocument', 'Invalid Policy: Policy missing conditions.');

    const covered = new Set<string>(['bucket']);
    let lengthRange: [number, number] | undefined;
    const failed = (condition: unknown) =>
      new S3Error(
        403,
        'AccessDenied',
        `Invalid according to Policy: Policy Condition failed: ${JSON.stringify(condition)}`,
      );
    const fieldValue = (name: string) => (name === 'bucket' ? bucket : fields.get(name));
    for (const condition of policy.conditions as unknown[]) {
      if (Array.isArray(condition)) {
        const [operator, target, value] = condition as [unknown, unknown, unknown];
        if (typeof operator === 'string' && operator.toLowerCase() === 'content-length-range') {
          if (typeof target !== 'number' || typeof value !== 'number' || condition.length !== 3)
            throw new S3Error(
              400,
              'InvalidPolicyDocument',
              `Invalid Policy: Invalid content-length-range condition: ${JSON.stringify(condition)}`,
            );
          lengthRange = [target, value];
          continue;
        }
        if (
          typeof operator !== 'string' ||
          typeof target !== 'string' ||
          !target.startsWith('$') ||
          typeof value !== 'string'
        )
          throw new S3Error(
            400,
            'InvalidPolicyDocument',
            `Invalid Policy: Invalid Condition: ${JSON.stringify(condition)}`,
          );
        const name = target.slice(1).toLowerCase();
        covered.add(name);
        const actual = fieldValue(name);
        const op = operator.toLowerCase();
        if (op === 'eq' ? actual !== value : op === 'starts-with' ? !(actual ?? '').startsWith(value) : true) {
          if (op !== 'eq' && op !== 'starts-with')
            throw new S3Error(
              400,
              'InvalidPolicyDocument',
              `Invalid Policy: Invalid Condition: ${JSON.stringify(condition)}`,
            );
          throw failed(condition);
        }
      } else if (condition && typeof condition === 'object') {
        for (const [field, value] of Object.entries(condition)) {
          const name = field.toLowerCase();
          covered.add(name);
          if (fieldValue(name) !== value) throw failed(condition);
        }
      } else {
        throw new S3Error(
          400,
          'InvalidPolicyDocument',
          `Invalid Policy: Invalid Condition: ${JSON.stringify(condition)}`,
        );
      }
    }
    const exempt = (name: string) =>
      name === 'policy' || name === 'x-amz-signature' || name === 'file' || name.startsWith('x-ignore-');
    const extra = [...fields.keys()].filter((name) => !exempt(name) && !covered.has(name));
    if (extra.length > 0)
      throw new S3Error(403, 'AccessDenied', `Invalid according to Policy: Extra input fields: ${extra.join(', ')}`);
    if (lengthRange && file.data.length < lengthRange[0])
      throw new S3Error(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', {
        ProposedSize: file.data.length,
        MinSizeAllowed: lengthRange[0],
      });
    if (lengthRange && file.data.length > lengthRange[1])
      throw new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', {
        ProposedSize: file.data.length,
        MaxSizeAllowed: lengthRange[1],
      });
    if (!objects) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });

    // biome-ignore lint/suspicious/noTemplateCurlyInString: S3 substitutes this literal placeholder in POST keys
    const key = rawKey.replaceAll('${filename}', file.filename ?? '');
    record.key = key;
    const declared = new Map([...fields].filter(([name]) => name.startsWith('x-amz-checksum-')));
    verifyChecksums(declared, file.data);
    const metadata: Record<string, string | string[] | undefined> = {};
    for (const [name, value] of fields) if (name.startsWith('x-amz-meta-')) metadata[name] = value;
    const stored = this.#store(objects, bucket, key, file.data, 'post', fields.get('content-type'), metadata);
    const location = `${this.#url}/${sigV4Encode(bucket)}/${key.split('/').map(sigV4Encode).join('/')}`;
    const status = fields.get('success_action_status');
    const headers = { ETag: stored.etag, Location: location, 'x-amz-request-id': randomBytes(8).toString('hex') };
    if (status === '201') {
      const xml =
        '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>' +
        `<Location>${xmlEscape(location)}</Location><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key>` +
        `<ETag>${xmlEscape(stored.etag)}</ETag></PostResponse>`;
      res
        .writeHead(201, { ...headers, 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) })
        .end(xml);
    } else {
      res.writeHead(status === '200' ? 200 : 204, headers).end();
    }
  }

  #store(
    objects: Map<string, StoredObject>,
    bucket: string,
    key: string,
    body: Buffer,
    via: StoredObject['via'],
    contentType: string | undefined,
    headers: Record<string, string | string[] | undefined>,
  ): StoredObject {
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers))
      if (name.startsWith('x-amz-meta-') && typeof value === 'string')
        metadata[name.slice('x-amz-meta-'.length)] = value;
    const stored: StoredObject = {
      bucket,
      key,
      body: Buffer.from(body),
      etag: `"${createHash('md5').update(body).digest('hex')}"`,
      contentType: contentType ?? 'binary/octet-stream',
      lastModified: new Date(Math.floor(this.#now() / 1000) * 1000),
      metadata,
      via,
    };
    objects.set(key, stored);
    return stored;
  }
}
