/**
 * A local AWS Systems Manager endpoint on 127.0.0.1 that speaks SSM's JSON 1.1 protocol (POST /, `X-Amz-Target:
 * AmazonSSM.<Operation>`, `application/x-amz-json-1.1`, errors as `{"__type", "message"}`) closely enough that the
 * real AWS SDK, pointed at it with AWS_ENDPOINT_URL_SSM, behaves as against SSM:
 *   - SigV4 is verified like SSM verifies it (credential scope for service `ssm` in the server's region, clock skew,
 *     signed headers, the signature itself, session tokens), with SSM's error types;
 *   - SendCommand, CancelCommand, ListCommands, ListCommandInvocations, GetCommandInvocation, CreateDocument,
 *     UpdateDocument, DescribeDocument and UpdateDocumentDefaultVersion, with their validation and error types;
 *   - Run Command's scheduling: targets by instance id, `tag:<key>` or `tag-key`, MaxConcurrency and MaxErrors
 *     (numbers or percentages), delivery timeout (TimeoutSeconds) and execution timeout, the lifecycle
 *     Pending -> InProgress -> Success | Failed | TimedOut | Cancelled, with SSM's StatusDetails (Undeliverable with
 *     ResponseCode -1 for an offline node, DeliveryTimedOut, ExecutionTimedOut, Terminated past MaxErrors);
 *   - output as SSM reports it: the plugin Output of ListCommandInvocations truncated to 2,500 characters the way the
 *     SSM agent truncates it, StandardOutputContent/StandardErrorContent of GetCommandInvocation to 24,000/8,000;
 *   - fault injection: ThrottlingException (400) and 5xx at random from a seeded generator, or the next N requests.
 *
 * Each registered target either REALLY runs the document's shell script (schema 2.2 `aws:runShellScript` steps with
 * `{{ parameters }}` substituted) as SSM Agent would, as root with AWS_SSM_INSTANCE_ID/AWS_SSM_REGION_NAME set,
 * optionally inside a network namespace (a simulated node from test/sim), or completes its invocations through a
 * synthetic handler (scale tests).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRandom, type Random } from '../sim/random.ts';
import * as wire from './aws-wire.ts';

export interface SsmCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export const DEFAULT_SSM_CREDENTIALS: SsmCredentials = {
  accessKeyId: 'AKIATESTDISPATCH0001',
  secretAccessKey: 'test/secret/key/for/the/local/ssm/server0',
};

/** What a synthetic target is told about an invocation, and may use to do the work (e.g. upload a bundle). */
export interface SyntheticInvocation {
  commandId: string;
  instanceId: string;
  documentName: string;
  /** Parameter values after defaults were applied. */
  parameters: Record<string, string[]>;
  /** The script of the first aws:runShellScript step, parameters substituted. */
  script: string;
  executionTimeoutSeconds: number;
  signal: AbortSignal;
}

export interface SyntheticResult {
  exitCode: number;
  stdout?: string;
  stderr?: string;
  /** Behave as if the script ran past the execution timeout. */
  timedOut?: boolean;
}

export type TargetRun =
  /** Run the script for real: `/bin/sh` (inside `namespace` when given, through `ip netns exec`). */
  | { kind: 'script'; namespace?: string; env?: Record<string, string> }
  | { kind: 'synthetic'; handler: (invocation: SyntheticInvocation) => Promise<SyntheticResult> };

export interface SsmTarget {
  instanceId: string;
  tags?: Record<string, string>;
  /** Host name, reported as InstanceName. */
  name?: string;
  platformType?: 'Linux' | 'Windows';
  /**
   * online: runs commands; offline (ConnectionLost): invocations end Failed/Undeliverable with ResponseCode -1;
   * unresponsive: never picks anything up, so invocations end TimedOut/DeliveryTimedOut at the delivery timeout.
   */
  connection?: 'online' | 'offline' | 'unresponsive';
  run?: TargetRun;
}

export interface SsmFault {
  status: number;
  type: string;
  message?: string;
}

export const THROTTLING: SsmFault = { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' };
export const INTERNAL_SERVER_ERROR: SsmFault = {
  status: 500,
  type: 'InternalServerError',
  message: 'An internal error occurred.',
};
export const SERVICE_UNAVAILABLE: SsmFault = {
  status: 503,
  type: 'ServiceUnavailable',
  message: 'Service is unavailable.',
};

export interface RandomFaults {
  seed: string;
  /** Share of requests answered with ThrottlingException. */
  throttleRate?: number;
  /** Share of requests answered with 500 InternalServerError or 503 ServiceUnavailable. */
  serverErrorRate?: number;
  /** Only these operations (default all). */
  operations?: string[];
}

export interface SsmServerOptions {
  region?: string;
  accountId?: string;
  credentials?: SsmCredentials[];
  targets?: SsmTarget[];
  faults?: RandomFaults;
  /** How long an offline node takes to be declared Undeliverable (default 150 ms). */
  undeliverableAfterMs?: number;
  /** How long target resolution by tag takes, during which the command stays Pending (default 50 ms). */
  resolveAfterMs?: number;
  /** How long a created or updated document stays `Creating` (default 100 ms). */
  documentActivationMs?: number;
  /** Multiplies SSM's timeouts (delivery and execution) so a test can see them pass: 0.01 turns 30 s into 0.3 s. */
  timeScale?: number;
  /** Where orchestration directories go (default a temp dir). */
  workDir?: string;
  now?: () => number;
}

export interface RecordedSsmRequest {
  operation: string;
  status: number;
  /** The error type when the answer was an error. */
  error?: string;
  /** Set when the answer was an injected fault. */
  injected?: boolean;
  at: number;
}

type Json = Record<string, unknown>;

class SsmError extends Error {
  readonly type: string;
  readonly status: number;

  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

const MAX_SKEW_MS = 5 * 60 * 1000;
const LIST_OUTPUT_LIMIT = 2500;
const STDOUT_LIMIT = 24_000;
const STDERR_LIMIT = 8000;
const KEPT_OUTPUT_LIMIT = 1024 * 1024;
const ERROR_TITLE = '\n----------ERROR-------\n';
const TRUNCATED_OUTPUT = '\n---Output truncated---';
const TRUNCATED_ERROR = '\n---Error truncated----';

/**
 * The SSM agent's truncation of a plugin's output for the service (its TruncateOutput): stdout, then the error
 * title and stderr, within `capacity` characters, the longer part cut first with a marker.
 */
export function truncatePluginOutput(stdout: string, stderr: string, capacity = LIST_OUTPUT_LIMIT): string {
  const title = stderr.length > 0 ? ERROR_TITLE : '';
  const available = capacity - title.length;
  if (stdout.length + stderr.length < available) return `${stdout}${title}${stderr}`;
  if (stdout.length > available / 2 && stderr.length > available / 2) {
    const size = available - TRUNCATED_ERROR.length - TRUNCATED_OUTPUT.length;
    return `${stdout.slice(0, Math.floor(size / 2))}${TRUNCATED_OUTPUT}${title}${stderr.slice(0, Math.floor(size / 2))}${TRUNCATED_ERROR}`;
  }
  if (stdout.length < available / 2) {
    const size = available - TRUNCATED_ERROR.length;
    return `${stdout}${title}${stderr.slice(0, size - stdout.length)}${TRUNCATED_ERROR}`;
  }
  const size = available - TRUNCATED_OUTPUT.length;
  return `${stdout.slice(0, size - stderr.length)}${TRUNCATED_OUTPUT}${title}${stderr}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Documents

interface ParameterDefinition {
  type: 'String' | 'StringList' | 'Boolean' | 'Integer' | 'StringMap' | 'MapList';
  description?: string;
  default?: unknown;
  allowedPattern?: string;
  allowedValues?: string[];
}

interface DocumentStep {
  action: string;
  name: string;
  precondition?: unknown;
  inputs: Json;
}

export interface CommandDocument {
  schemaVersion: string;
  description?: string;
  parameters: Record<string, ParameterDefinition>;
  mainSteps: DocumentStep[];
}

interface DocumentVersion {
  version: string;
  content: string;
  parsed: CommandDocument;
  hash: string;
  createdAt: number;
  activeAt: number;
}

interface StoredDocument {
  name: string;
  owner: string;
  documentType: string;
  targetType?: string;
  versions: DocumentVersion[];
  defaultVersion: string;
}

const PARAMETER_TYPES = new Set(['String', 'StringList', 'Boolean', 'Integer', 'StringMap', 'MapList']);
const PARAMETER_KEYS = new Set([
  'type',
  'description',
  'default',
  'allowedPattern',
  'allowedValues',
  'displayType',
  'minItems',
  'maxItems',
  'minChars',
  'maxChars',
]);
const ACTIONS = new Set(['aws:runShellScript', 'aws:runPowerShellScript']);
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.:-]+)\s*\}\}/g;

function placeholders(value: unknown, found: Set<string>): void {
  if (typeof value === 'string') for (const match of value.matchAll(PLACEHOLDER)) found.add(match[1] as string);
  else if (Array.isArray(value)) for (const item of value) placeholders(item, found);
  else if (value && typeof value === 'object') for (const item of Object.values(value)) placeholders(item, found);
}

/**
 * Validates a Command document's content the way CreateDocument does for schema 2.2 (JSON format): the problems
 * found, each a sentence. An empty list means SSM would take it.
 */
export function validateCommandDocument(content: string): string[] {
  let document: unknown;
  try {
    document = JSON.parse(content);
  } catch (error) {
    return [`content is not valid JSON: ${(error as Error).message}`];
  }
  if (!document || typeof document !== 'object' || Array.isArray(document)) return ['content must be a JSON object'];
  const problems: string[] = [];
  const doc = document as Json;
  for (const key of Object.keys(doc))
    if (!['schemaVersion', 'description', 'parameters', 'mainSteps', 'assumeRole', 'files'].includes(key))
      problems.push(`unknown top-level property "${key}"`);
  if (doc.schemaVersion !== '2.2') problems.push(`schemaVersion must be "2.2" for a Command document here`);
  if (doc.description !== undefined && typeof doc.description !== 'string') problems.push('description must be text');
  const parameters = (doc.parameters ?? {}) as Json;
  if (typeof parameters !== 'object' || Array.isArray(parameters)) problems.push('parameters must be an object');
  else {
    for (const [name, definition] of Object.entries(parameters)) {
      if (!/^[a-zA-Z0-9_]+$/.test(name)) problems.push(`parameter name "${name}" is not valid`);
      const def = definition as Partial<ParameterDefinition> & Json;
      if (!def || typeof def !== 'object') {
        problems.push(`parameter ${name} must be an object`);
        continue;
      }
      if (!PARAMETER_TYPES.has(String(def.type))) problems.push(`parameter ${name} has an invalid type "${def.type}"`);
      for (const key of Object.keys(def))
        if (!PARAMETER_KEYS.has(key)) problems.push(`parameter ${name} has an unknown property "${key}"`);
      if (def.allowedPattern !== undefined) {
        try {
          const pattern = new RegExp(String(def.allowedPattern));
          if (typeof def.default === 'string' && !pattern.test(def.default))
            problems.push(`the default value of parameter ${name} does not match its allowedPattern`);
        } catch {
          problems.push(`parameter ${name} has an invalid allowedPattern`);
        }
      }
      if (def.type === 'String' && def.default !== undefined && typeof def.default !== 'string')
        problems.push(`the default value of parameter ${name} must be a string`);
    }
  }
  const steps = doc.mainSteps;
  if (!Array.isArray(steps) || steps.length === 0) problems.push('mainSteps must be a non-empty list');
  else {
    const names = new Set<string>();
    for (const [index, step] of steps.entries()) {
      const s = step as Partial<DocumentStep> & Json;
      if (!s || typeof s !== 'object') {
        problems.push(`mainSteps[${index}] must be an object`);
        continue;
      }
      if (typeof s.action !== 'string' || !ACTIONS.has(s.action))
        problems.push(`mainSteps[${index}] has an unsupported action "${String(s.action)}"`);
      if (typeof s.name !== 'string' || !/^[a-zA-Z0-9_.-]{1,128}$/.test(s.name))
        problems.push(`mainSteps[${index}] needs a name of letters, digits, _ . -`);
      else if (names.has(s.name)) problems.push(`step name "${s.name}" is used twice`);
      else names.add(s.name);
      const inputs = s.inputs as Json | undefined;
      if (!inputs || typeof inputs !== 'object') problems.push(`mainSteps[${index}] needs inputs`);
      else {
        const runCommand = inputs.runCommand;
        const isPlaceholder = typeof runCommand === 'string' && /^\{\{\s*[A-Za-z0-9_]+\s*\}\}$/.test(runCommand);
        if (!isPlaceholder && !(Array.isArray(runCommand) && runCommand.every((line) => typeof line === 'string')))
          problems.push(`mainSteps[${index}].inputs.runCommand must be a list of strings or a parameter`);
        if (inputs.timeoutSeconds !== undefined && !['string', 'number'].includes(typeof inputs.timeoutSeconds))
          problems.push(`mainSteps[${index}].inputs.timeoutSeconds must be a number or a parameter`);
      }
    }
    const used = new Set<string>();
    placeholders(steps, used);
    for (const name of used) {
      if (name.startsWith('ssm:') || name.startsWith('ssm-secure:')) continue;
      if (!(name in (parameters as Json))) problems.push(`the document uses the undeclared parameter {{ ${name} }}`);
    }
  }
  return problems;
}

const RUN_SHELL_SCRIPT: CommandDocument = {
  schemaVersion: '2.2',
  description: 'Run a shell script or specify the commands to run.',
  parameters: {
    commands: { type: 'StringList', description: '(Required) Specify a shell script or a command to run.' },
    workingDirectory: { type: 'String', default: '', description: '(Optional) The path to the working directory.' },
    executionTimeout: {
      type: 'String',
      default: '3600',
      description: '(Optional) The time in seconds for a command to complete before it is considered to have failed.',
      allowedPattern: '([1-9][0-9]{0,4})|(1[0-6][0-9]{4})|(17[0-1][0-9]{3})|(172[0-7][0-9]{2})|(172800)',
    },
  },
  mainSteps: [
    {
      action: 'aws:runShellScript',
      name: 'runShellScript',
      precondition: { StringEquals: ['platformType', 'Linux'] },
      inputs: {
        runCommand: '{{ commands }}',
        workingDirectory: '{{ workingDirectory }}',
        timeoutSeconds: '{{ executionTimeout }}',
      },
    },
  ],
};

// ---------------------------------------------------------------------------------------------------------------
// Commands

type InvocationStatus = 'Pending' | 'InProgress' | 'Success' | 'Cancelled' | 'TimedOut' | 'Failed';
const TERMINAL = new Set<InvocationStatus>(['Success', 'Cancelled', 'TimedOut', 'Failed']);

export interface InvocationRecord {
  commandId: string;
  instanceId: string;
  instanceName: string;
  status: InvocationStatus;
  statusDetails: string;
  responseCode: number;
  requestedAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** Everything the script wrote (up to 1 MiB each), for tests; the API shows SSM's truncations. */
  stdout: string;
  stderr: string;
  /** Whether it holds one of the command's MaxConcurrency slots. */
  slot?: boolean;
  /** Set on the scheduler's side while it runs. */
  abort?: AbortController;
  child?: ChildProcess;
}

export interface CommandRecord {
  commandId: string;
  documentName: string;
  documentVersion: string;
  document: CommandDocument;
  comment: string;
  parameters: Record<string, string[]>;
  /** As sent. */
  requestParameters: Record<string, string[]>;
  instanceIds: string[];
  targets: { Key: string; Values: string[] }[];
  requestedAt: number;
  timeoutSeconds: number;
  executionTimeoutSeconds: number;
  maxConcurrency: string;
  maxErrors: string;
  status: 'Pending' | 'InProgress' | 'Success' | 'Cancelled' | 'Failed' | 'TimedOut' | 'Cancelling';
  statusDetails: string;
  /** Visible once targets are resolved. */
  resolved: boolean;
  invocations: InvocationRecord[];
  started: number;
  running: number;
  errors: number;
  stopped: boolean;
  cancelled: boolean;
}

const CONCURRENCY_PATTERN = /^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$/;
const ERRORS_PATTERN = /^([1-9][0-9]*|0|[1-9][0-9]%|[0-9]%|100%)$/;

function resolveAmount(value: string, total: number, minimum: number): number {
  if (value.endsWith('%')) return Math.max(minimum, Math.floor((Number(value.slice(0, -1)) / 100) * total));
  return Number(value);
}

const epochSeconds = (ms: number) => ms / 1000;

function isoDuration(ms: number): string {
  return `PT${(ms / 1000).toFixed(3)}S`;
}

function validation(field: string, constraint: string, value?: unknown): SsmError {
  const shown = value === undefined ? 'null' : `'${String(value)}'`;
  return new SsmError(
    'ValidationException',
    `1 validation error detected: Value ${shown} at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

function stringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

export class SsmServer {
  readonly region: string;
  readonly accountId: string;
  readonly credentials: SsmCredentials[];
  readonly requests: RecordedSsmRequest[] = [];
  readonly #targets = new Map<string, SsmTarget>();
  readonly #documents = new Map<string, StoredDocument>();
  readonly #commands = new Map<string, CommandRecord>();
  readonly #faultQueue: { fault: SsmFault; operation?: string }[] = [];
  readonly #random?: Random;
  readonly #faults?: RandomFaults;
  readonly #options: SsmServerOptions;
  readonly #now: () => number;
  readonly #server: Server;
  readonly #timers = new Set<NodeJS.Timeout>();
  #workDir?: string;
  #url = '';
  #closed = false;

  private constructor(options: SsmServerOptions) {
    this.#options = options;
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '123456789012';
    this.credentials = options.credentials ?? [DEFAULT_SSM_CREDENTIALS];
    this.#now = options.now ?? Date.now;
    this.#faults = options.faults;
    if (options.faults) this.#random = createRandom(options.faults.seed);
    for (const target of options.targets ?? []) this.registerTarget(target);
    this.#documents.set('AWS-RunShellScript', {
      name: 'AWS-RunShellScript',
      owner: 'Amazon',
      documentType: 'Command',
      versions: [
        {
          version: '1',
          content: JSON.stringify(RUN_SHELL_SCRIPT),
          parsed: RUN_SHELL_SCRIPT,
          hash: wire.sha256Hex(JSON.stringify(RUN_SHELL_SCRIPT)),
          createdAt: 0,
          activeAt: 0,
        },
      ],
      defaultVersion: '1',
    });
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) this.#send(res, 500, { __type: 'InternalServerError', message: String(error) });
        else res.destroy();
      });
    });
  }

  static async start(options: SsmServerOptions = {}): Promise<SsmServer> {
    const server = new SsmServer(options);
    server.#url = await wire.listenOnLoopback(server.#server);
    return server;
  }

  /** `http://127.0.0.1:<port>`: the endpoint for AWS_ENDPOINT_URL_SSM. */
  get url(): string {
    return this.#url;
  }

  registerTarget(target: SsmTarget): void {
    this.#targets.set(target.instanceId, target);
  }

  /** Changes how a registered target answers from now on (e.g. take it offline). */
  setConnection(instanceId: string, connection: NonNullable<SsmTarget['connection']>): void {
    const target = this.#targets.get(instanceId);
    if (!target) throw new Error(`no target ${instanceId}`);
    target.connection = connection;
  }

  /** The next `count` requests (of this operation, when given) are answered with this fault. */
  failNext(count: number, fault: SsmFault, operation?: string): void {
    for (let i = 0; i < count; i++) this.#faultQueue.push({ fault, ...(operation ? { operation } : {}) });
  }

  commands(): CommandRecord[] {
    return [...this.#commands.values()];
  }

  command(commandId: string): CommandRecord | undefined {
    return this.#commands.get(commandId);
  }

  documentContent(name: string, version?: string): string | undefined {
    const document = this.#documents.get(name);
    const wanted = version ?? document?.defaultVersion;
    return document?.versions.find((v) => v.version === wanted)?.content;
  }

  defaultVersion(name: string): string | undefined {
    return this.#documents.get(name)?.defaultVersion;
  }

  /** Requests per operation, counting retried and faulted ones. */
  callCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const request of this.requests) counts[request.operation] = (counts[request.operation] ?? 0) + 1;
    return counts;
  }

  /** Resolves once every invocation of every command is terminal. */
  async settled(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ([...this.#commands.values()].some((command) => !this.#isDone(command))) {
      if (Date.now() > deadline) throw new Error('SSM server: commands still running');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    for (const command of this.#commands.values())
      for (const invocation of command.invocations) {
        invocation.abort?.abort();
        if (invocation.child) killTree(invocation.child);
      }
    await wire.closeNow(this.#server);
    if (this.#workDir) await rm(this.#workDir, { recursive: true, force: true });
  }

  // -------------------------------------------------------------------------------------------------------------
  // HTTP and authentication

  #send(res: ServerResponse, status: number, body: Json): void {
    wire.sendDocument(res, status, JSON.stringify(body), {
      'Content-Type': 'application/x-amz-json-1.1',
      'x-amzn-RequestId': randomUUID(),
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { body } = await wire.readRequestBody(req);
    const target = req.headers['x-amz-target'];
    const operation =
      typeof target === 'string' && target.startsWith('AmazonSSM.') ? target.slice('AmazonSSM.'.length) : '';
    const record: RecordedSsmRequest = { operation: operation || String(target ?? ''), status: 0, at: this.#now() };
    this.requests.push(record);
    const answer = (status: number, payload: Json, error?: string) => {
      record.status = status;
      if (error) record.error = error;
      this.#send(res, status, payload);
    };
    try {
      if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/')
        throw new SsmError('UnknownOperationException', 'Only POST / is served.', 404);
      this.#authenticate(req, body);
      const queued = this.#faultQueue.findIndex((entry) => !entry.operation || entry.operation === operation);
      const fault = queued >= 0 ? this.#faultQueue.splice(queued, 1)[0]?.fault : this.#randomFault(operation);
      if (fault) {
        record.injected = true;
        answer(fault.status, { __type: fault.type, message: fault.message ?? fault.type }, fault.type);
        return;
      }
      if (!/^application\/x-amz-json-1\.1/.test(req.headers['content-type'] ?? ''))
        throw new SsmError('SerializationException', 'Content-Type must be application/x-amz-json-1.1');
      let input: Json;
      try {
        input = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as Json);
      } catch {
        throw new SsmError('SerializationException', 'Start of structure or map found where not expected.');
      }
      if (!input || typeof input !== 'object' || Array.isArray(input))
        throw new SsmError('SerializationException', 'The request body must be a JSON object.');
      const handler = this.#operations[operation];
      if (!handler) throw new SsmError('UnknownOperationException', `Unknown operation ${String(target)}`);
      answer(200, await handler(input));
    } catch (error) {
      if (!(error instanceof SsmError)) throw error;
      answer(error.status, { __type: error.type, message: error.message }, error.type);
    }
  }

  #randomFault(operation: string): SsmFault | undefined {
    const faults = this.#faults;
    const random = this.#random;
    if (!faults || !random) return undefined;
    if (faults.operations && !faults.operations.includes(operation)) return undefined;
    const roll = random.next();
    const throttle = faults.throttleRate ?? 0;
    if (roll < throttle) return THROTTLING;
    if (roll < throttle + (faults.serverErrorRate ?? 0))
      return random.next() < 0.5 ? INTERNAL_SERVER_ERROR : SERVICE_UNAVAILABLE;
    return undefined;
  }

  #authenticate(req: IncomingMessage, body: Buffer): void {
    const authorization = req.headers.authorization;
    if (!authorization) throw new SsmError('MissingAuthenticationTokenException', 'Missing Authentication Token', 400);
    const parsed = wire.parseAuthorization(authorization);
    // SSM takes only a lowercase 64-digit signature.
    if (!parsed || !/^[0-9a-f]{64}$/.test(parsed.signature))
      throw new SsmError(
        'IncompleteSignatureException',
        `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters and the ${wire.SIGV4_ALGORITHM} algorithm. Authorization=${authorization.split(' ')[0]}`,
      );
    const { signedHeaders: signed, signature } = parsed;
    const scope = wire.parseCredentialScope(parsed.credential);
    if (!scope)
      throw new SsmError(
        'IncompleteSignatureException',
        `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${parsed.credential}'`,
      );
    const { accessKeyId, date: day, region, service } = scope;
    const credentials = this.credentials.find((c) => c.accessKeyId === accessKeyId);
    if (!credentials)
      throw new SsmError('UnrecognizedClientException', 'The security token included in the request is invalid.');
    if (service !== 'ssm')
      throw new SsmError('InvalidSignatureException', "Credential should be scoped to correct service: 'ssm'. ");
    if (region !== this.region)
      throw new SsmError(
        'InvalidSignatureException',
        `Credential should be scoped to a valid region, not '${region}'. `,
      );
    const date = req.headers['x-amz-date'];
    const signedAt = typeof date === 'string' ? wire.parseAmzDate(date) : undefined;
    if (signedAt === undefined || typeof date !== 'string')
      throw new SsmError(
        'IncompleteSignatureException',
        'Authorization header requires existence of a valid X-Amz-Date header.',
      );
    if (date.slice(0, 8) !== day)
      throw new SsmError(
        'InvalidSignatureException',
        'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP',
      );
    if (Math.abs(this.#now() - signedAt) > MAX_SKEW_MS)
      throw new SsmError(
        'InvalidSignatureException',
        `Signature expired: ${date} is now earlier than ${wire.amzDate(this.#now() - MAX_SKEW_MS)} (${wire.amzDate(this.#now())} - 5 min.)`,
      );
    for (const required of ['host', 'x-amz-date', 'x-amz-target'])
      if (!signed.includes(required))
        throw new SsmError('InvalidSignatureException', `'${required}' must be a signed header.`);
    const [rawPath = '/', rawQuery = ''] = (req.url ?? '/').split('?');
    const query = wire.canonicalQuery(wire.parseQuery(rawQuery, decodeURIComponent));
    const canonical = wire.canonicalRequest(req, req.method ?? 'POST', rawPath, query, signed, wire.sha256Hex(body));
    if (!wire.sameHex(wire.sign(credentials.secretAccessKey, scope, date, canonical).signature, signature))
      throw new SsmError(
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      );
    const token = req.headers['x-amz-security-token'];
    if ((credentials.sessionToken ?? undefined) !== (typeof token === 'string' ? token : undefined))
      throw new SsmError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }

  // -------------------------------------------------------------------------------------------------------------
  // Operations

  readonly #operations: Record<string, (input: Json) => Promise<Json> | Json> = {
    SendCommand: (input) => this.#sendCommand(input),
    CancelCommand: (input) => this.#cancelCommand(input),
    ListCommands: (input) => this.#listCommands(input),
    ListCommandInvocations: (input) => this.#listCommandInvocations(input),
    GetCommandInvocation: (input) => this.#getCommandInvocation(input),
    CreateDocument: (input) => this.#createDocument(input),
    UpdateDocument: (input) => this.#updateDocument(input),
    DescribeDocument: (input) => this.#describeDocument(input),
    UpdateDocumentDefaultVersion: (input) => this.#updateDocumentDefaultVersion(input),
  };

  #findDocumentVersion(
    name: string,
    version: string | undefined,
  ): { stored: StoredDocument; version: DocumentVersion } {
    const stored = this.#documents.get(name);
    if (!stored) throw new SsmError('InvalidDocument', `Document with name ${name} does not exist.`);
    const wanted =
      version === undefined || version === '$DEFAULT'
        ? stored.defaultVersion
        : version === '$LATEST'
          ? (stored.versions.at(-1)?.version as string)
          : version;
    const found = stored.versions.find((v) => v.version === wanted);
    if (!found) throw new SsmError('InvalidDocumentVersion', `Document version ${version} does not exist for ${name}.`);
    return { stored, version: found };
  }

  #sendCommand(input: Json): Json {
    const documentName = input.DocumentName;
    if (typeof documentName !== 'string' || documentName === '')
      throw validation('documentName', 'Member must not be null');
    const instanceIds = input.InstanceIds;
    const targets = input.Targets;
    if (instanceIds !== undefined && (!stringList(instanceIds) || instanceIds.length > 50))
      throw validation('instanceIds', 'Member must have length less than or equal to 50', instanceIds);
    if (targets !== undefined) {
      if (!Array.isArray(targets) || targets.length > 5)
        throw validation('targets', 'Member must have length less than or equal to 5', targets);
      for (const target of targets as Json[])
        if (typeof target?.Key !== 'string' || !stringList(target.Values) || target.Values.length > 50)
          throw validation('targets', 'each target needs a Key and at most 50 Values');
    }
    const hasIds = stringList(instanceIds) && instanceIds.length > 0;
    const hasTargets = Array.isArray(targets) && targets.length > 0;
    if (hasIds === hasTargets)
      throw new SsmError('InvalidParameters', 'Specify either InstanceIds or Targets, but not both.');
    const maxConcurrency = (input.MaxConcurrency as string | undefined) ?? '50';
    const maxErrors = (input.MaxErrors as string | undefined) ?? '0';
    if (!CONCURRENCY_PATTERN.test(maxConcurrency))
      throw validation(
        'maxConcurrency',
        `Member must satisfy regular expression pattern: ${CONCURRENCY_PATTERN.source}`,
        maxConcurrency,
      );
    if (!ERRORS_PATTERN.test(maxErrors))
      throw validation(
        'maxErrors',
        `Member must satisfy regular expression pattern: ${ERRORS_PATTERN.source}`,
        maxErrors,
      );
    const timeoutSeconds = input.TimeoutSeconds === undefined ? 3600 : Number(input.TimeoutSeconds);
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 30 || timeoutSeconds > 2_592_000)
      throw validation('timeoutSeconds', 'Member must have value between 30 and 2592000', input.TimeoutSeconds);
    const comment = (input.Comment as string | undefined) ?? '';
    if (comment.length > 100) throw validation('comment', 'Member must have length less than or equal to 100', comment);

    const { version } = this.#findDocumentVersion(documentName, input.DocumentVersion as string | undefined);
    if (this.#now() < version.activeAt)
      throw new SsmError('InvalidDocument', `Document ${documentName} is not in Active state.`);
    const parameters = this.#bindParameters(version.parsed, (input.Parameters ?? {}) as Json);

    let resolvedIds: string[];
    if (hasIds) {
      const unique = [...new Set(instanceIds as string[])];
      const invalid = unique.filter((id) => !this.#targets.has(id));
      if (invalid.length > 0)
        throw new SsmError(
          'InvalidInstanceId',
          `Instances [[${invalid.join(', ')}]] not in a valid state for account ${this.accountId}`,
        );
      resolvedIds = unique;
    } else {
      resolvedIds = this.#resolveTargets(targets as { Key: string; Values: string[] }[]);
    }
    const executionTimeoutSeconds = this.#executionTimeout(version.parsed, parameters);
    const requestedAt = this.#now();
    const commandId = randomUUID();
    const command: CommandRecord = {
      commandId,
      documentName,
      documentVersion: (input.DocumentVersion as string | undefined) ?? '',
      document: version.parsed,
      comment,
      parameters,
      requestParameters: (input.Parameters ?? {}) as Record<string, string[]>,
      instanceIds: hasIds ? resolvedIds : [],
      targets: hasTargets ? (targets as { Key: string; Values: string[] }[]) : [],
      requestedAt,
      timeoutSeconds,
      executionTimeoutSeconds,
      maxConcurrency,
      maxErrors,
      status: 'Pending',
      statusDetails: 'Pending',
      resolved: false,
      invocations: resolvedIds.map((instanceId) => ({
        commandId,
        instanceId,
        instanceName: this.#targets.get(instanceId)?.name ?? '',
        status: 'Pending',
        statusDetails: 'Pending',
        responseCode: -1,
        requestedAt,
        stdout: '',
        stderr: '',
      })),
      started: 0,
      running: 0,
      errors: 0,
      stopped: false,
      cancelled: false,
    };
    this.#commands.set(commandId, command);
    const begin = () => {
      command.resolved = true;
      if (command.invocations.length === 0) {
        command.status = 'Success';
        command.statusDetails = 'Success';
        return;
      }
      this.#later(() => this.#deliveryTimeout(command), timeoutSeconds * 1000 * (this.#options.timeScale ?? 1));
      this.#pump(command);
    };
    // SendCommand answers Pending. Tag targets resolve asynchronously, as in SSM: until then there are no invocations.
    const description = this.#describeCommand(command, hasIds ? resolvedIds.length : 0);
    if (hasIds) begin();
    else this.#later(begin, this.#options.resolveAfterMs ?? 50);
    return { Command: description };
  }

  #resolveTargets(targets: { Key: string; Values: string[] }[]): string[] {
    const matches = (target: SsmTarget, criterion: { Key: string; Values: string[] }) => {
      if (criterion.Key === 'InstanceIds') return criterion.Values.includes(target.instanceId);
      if (criterion.Key === 'tag-key') return criterion.Values.some((key) => key in (target.tags ?? {}));
      if (criterion.Key.startsWith('tag:')) {
        const value = target.tags?.[criterion.Key.slice(4)];
        return value !== undefined && criterion.Values.includes(value);
      }
      throw new SsmError('InvalidTarget', `Target key ${criterion.Key} is not supported by this server.`);
    };
    // Several criteria narrow the set together; several values of one criterion widen it.
    return [...this.#targets.values()]
      .filter((target) => targets.every((criterion) => matches(target, criterion)))
      .map((target) => target.instanceId);
  }

  #bindParameters(document: CommandDocument, given: Json): Record<string, string[]> {
    const bound: Record<string, string[]> = {};
    for (const [name, value] of Object.entries(given)) {
      const definition = document.parameters[name];
      if (!definition) throw new SsmError('InvalidParameters', `Parameter "${name}" is not defined in the document.`);
      if (!stringList(value)) throw new SsmError('InvalidParameters', `Parameter "${name}" must be a list of strings.`);
      if (definition.type === 'String' && value.length !== 1)
        throw new SsmError('InvalidParameters', `Parameter "${name}" takes exactly one value.`);
      if (definition.allowedPattern) {
        const pattern = new RegExp(definition.allowedPattern);
        for (const item of value)
          if (!pattern.test(item))
            throw new SsmError(
              'InvalidParameters',
              `Parameter "${name}" "${item.slice(0, 100)}" failed to satisfy constraint: Member must satisfy regular expression pattern: ${definition.allowedPattern}`,
            );
      }
      bound[name] = value;
    }
    for (const [name, definition] of Object.entries(document.parameters)) {
      if (name in bound) continue;
      if (definition.default === undefined)
        throw new SsmError('InvalidParameters', `Parameter "${name}" is required but was not given a value.`);
      bound[name] = Array.isArray(definition.default) ? (definition.default as string[]) : [String(definition.default)];
    }
    return bound;
  }

  #substitute(text: string, parameters: Record<string, string[]>): string {
    return text.replace(PLACEHOLDER, (_all, name: string) => {
      const value = parameters[name];
      if (value === undefined) throw new SsmError('InvalidParameters', `Parameter ${name} has no value.`);
      return value.join('\n');
    });
  }

  #stepScript(command: CommandDocument, parameters: Record<string, string[]>): string {
    const step = command.mainSteps.find((s) => s.action === 'aws:runShellScript');
    if (!step) return '';
    const runCommand = step.inputs.runCommand;
    const lines = typeof runCommand === 'string' ? [runCommand] : (runCommand as string[]);
    return lines.map((line) => this.#substitute(line, parameters)).join('\n');
  }

  #executionTimeout(document: CommandDocument, parameters: Record<string, string[]>): number {
    const step = document.mainSteps.find((s) => s.action === 'aws:runShellScript');
    const raw = step?.inputs.timeoutSeconds;
    if (raw === undefined) return 3600;
    const value = Number(typeof raw === 'string' ? this.#substitute(raw, parameters) : raw);
    return Number.isFinite(value) && value > 0 ? value : 3600;
  }

  #later(action: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#closed) action();
    }, ms);
    this.#timers.add(timer);
  }

  #isDone(command: CommandRecord): boolean {
    return command.resolved && command.invocations.every((invocation) => TERMINAL.has(invocation.status));
  }

  /** Starts invocations while MaxConcurrency allows and MaxErrors has not been passed. */
  #pump(command: CommandRecord): void {
    const total = command.invocations.length;
    const concurrency = resolveAmount(command.maxConcurrency, total, 1);
    while (!command.stopped && command.running < concurrency && command.started < total) {
      const invocation = command.invocations[command.started] as InvocationRecord;
      command.started++;
      if (invocation.status !== 'Pending') continue;
      const target = this.#targets.get(invocation.instanceId);
      // An unresponsive node never picks the command up; it waits for the delivery timeout, holding no slot.
      if (target?.connection === 'unresponsive') continue;
      command.running++;
      invocation.slot = true;
      if (command.status === 'Pending') {
        command.status = 'InProgress';
        command.statusDetails = 'InProgress';
      }
      if (target?.connection === 'offline') {
        this.#later(
          () => this.#finish(command, invocation, 'Failed', 'Undeliverable', -1),
          this.#options.undeliverableAfterMs ?? 150,
        );
        continue;
      }
      this.#run(command, invocation, target as SsmTarget);
    }
    this.#settle(command);
  }

  #run(command: CommandRecord, invocation: InvocationRecord, target: SsmTarget): void {
    invocation.status = 'InProgress';
    invocation.statusDetails = 'InProgress';
    invocation.startedAt = this.#now();
    const abort = new AbortController();
    invocation.abort = abort;
    const timeoutMs = command.executionTimeoutSeconds * 1000 * (this.#options.timeScale ?? 1);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort(new Error('execution timed out'));
      if (invocation.child) killTree(invocation.child);
    }, timeoutMs);
    this.#timers.add(timer);
    const done = (result: SyntheticResult) => {
      clearTimeout(timer);
      this.#timers.delete(timer);
      if (TERMINAL.has(invocation.status)) return;
      invocation.stdout = (result.stdout ?? '').slice(0, KEPT_OUTPUT_LIMIT);
      invocation.stderr = (result.stderr ?? '').slice(0, KEPT_OUTPUT_LIMIT);
      if (timedOut || result.timedOut) this.#finish(command, invocation, 'TimedOut', 'ExecutionTimedOut', -1);
      else if (result.exitCode === 0) this.#finish(command, invocation, 'Success', 'Success', 0);
      else this.#finish(command, invocation, 'Failed', 'Failed', result.exitCode);
    };
    const run = target.run ?? { kind: 'synthetic', handler: async () => ({ exitCode: 0 }) };
    const script = this.#stepScript(command.document, command.parameters);
    if (run.kind === 'synthetic') {
      run
        .handler({
          commandId: command.commandId,
          instanceId: invocation.instanceId,
          documentName: command.documentName,
          parameters: command.parameters,
          script,
          executionTimeoutSeconds: command.executionTimeoutSeconds,
          signal: abort.signal,
        })
        .then(done, (error: unknown) => done({ exitCode: 1, stderr: String(error) }));
      return;
    }
    this.#runScript(command, invocation, run, script).then(done, (error: unknown) =>
      done({ exitCode: 1, stderr: `failed to run commands: ${(error as Error).message}` }),
    );
  }

  /** As SSM Agent does: the script goes to `_script.sh` in the orchestration directory and runs with sh, as root. */
  async #runScript(
    command: CommandRecord,
    invocation: InvocationRecord,
    run: Extract<TargetRun, { kind: 'script' }>,
    script: string,
  ): Promise<SyntheticResult> {
    this.#workDir ??= this.#options.workDir ?? (await mkdtemp(join(tmpdir(), 'ssm-server-')));
    const stepName = command.document.mainSteps[0]?.name ?? 'runShellScript';
    const orchestration = join(
      this.#workDir,
      invocation.instanceId,
      'document',
      'orchestration',
      command.commandId,
      stepName,
    );
    await mkdir(orchestration, { recursive: true });
    const scriptPath = join(orchestration, '_script.sh');
    await writeFile(scriptPath, `${script}\n`, { mode: 0o700 });
    const argv = run.namespace
      ? ['ip', 'netns', 'exec', run.namespace, '/bin/sh', scriptPath]
      : ['/bin/sh', scriptPath];
    const child = spawn(argv[0] as string, argv.slice(1), {
      cwd: orchestration,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        HOME: '/root',
        LANG: 'C.UTF-8',
        AWS_SSM_INSTANCE_ID: invocation.instanceId,
        AWS_SSM_REGION_NAME: this.region,
        ...run.env,
      },
    });
    invocation.child = child;
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      if (stdout.length < KEPT_OUTPUT_LIMIT) stdout += text;
    });
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      if (stderr.length < KEPT_OUTPUT_LIMIT) stderr += text;
    });
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    invocation.child = undefined;
    return { exitCode: code ?? (signal ? 128 + (signal === 'SIGKILL' ? 9 : 15) : 1), stdout, stderr };
  }

  #finish(
    command: CommandRecord,
    invocation: InvocationRecord,
    status: InvocationStatus,
    details: string,
    responseCode: number,
  ): void {
    if (TERMINAL.has(invocation.status)) return;
    invocation.status = status;
    invocation.statusDetails = details;
    invocation.responseCode = responseCode;
    invocation.finishedAt = this.#now();
    invocation.startedAt ??= invocation.finishedAt;
    invocation.abort = undefined;
    if (invocation.slot) {
      invocation.slot = false;
      command.running--;
    }
    if (details === 'Failed' || details === 'ExecutionTimedOut') command.errors++;
    const allowed = resolveAmount(command.maxErrors, command.invocations.length, 0);
    if (!command.stopped && command.errors > allowed) {
      // Past MaxErrors SSM sends the command to no further target; those invocations end Terminated.
      command.stopped = true;
      for (const pending of command.invocations)
        if (pending.status === 'Pending') this.#finish(command, pending, 'Cancelled', 'Terminated', -1);
    }
    if (!command.stopped && !command.cancelled) this.#pump(command);
    this.#settle(command);
  }

  #deliveryTimeout(command: CommandRecord): void {
    for (const invocation of command.invocations)
      if (invocation.status === 'Pending') this.#finish(command, invocation, 'TimedOut', 'DeliveryTimedOut', -1);
  }

  #settle(command: CommandRecord): void {
    if (!this.#isDone(command) || command.invocations.length === 0) return;
    if (command.cancelled) {
      command.status = 'Cancelled';
      command.statusDetails = 'Cancelled';
      return;
    }
    const counted = command.invocations.filter((i) => i.statusDetails !== 'Undeliverable');
    if (counted.every((i) => i.status === 'Success')) {
      command.status = 'Success';
      command.statusDetails = 'Success';
    } else if (command.stopped) {
      command.status = 'Failed';
      command.statusDetails = 'Failed';
    } else {
      command.status = 'Failed';
      command.statusDetails = 'Incomplete';
    }
  }

  #cancelCommand(input: Json): Json {
    const command = this.#commands.get(String(input.CommandId ?? ''));
    if (!command) throw new SsmError('InvalidCommandId', 'The command ID is not valid.');
    const only = stringList(input.InstanceIds) && input.InstanceIds.length > 0 ? new Set(input.InstanceIds) : undefined;
    if (!only) {
      command.cancelled = true;
      command.stopped = true;
      if (!this.#isDone(command)) {
        command.status = 'Cancelling';
        command.statusDetails = 'Cancelling';
      }
    }
    for (const invocation of command.invocations) {
      if (only && !only.has(invocation.instanceId)) continue;
      if (TERMINAL.has(invocation.status)) continue;
      invocation.abort?.abort(new Error('cancelled'));
      if (invocation.child) killTree(invocation.child);
      this.#finish(command, invocation, 'Cancelled', 'Cancelled', -1);
    }
    this.#settle(command);
    return {};
  }

  #describeCommand(command: CommandRecord, targetCount?: number): Json {
    const terminal = command.invocations.filter((i) => TERMINAL.has(i.status));
    return {
      CommandId: command.commandId,
      DocumentName: command.documentName,
      DocumentVersion: command.documentVersion,
      Comment: command.comment,
      ExpiresAfter: epochSeconds(
        command.requestedAt + (command.timeoutSeconds + command.executionTimeoutSeconds) * 1000,
      ),
      Parameters: command.requestParameters,
      InstanceIds: command.instanceIds,
      Targets: command.targets,
      RequestedDateTime: epochSeconds(command.requestedAt),
      Status: command.status,
      StatusDetails: command.statusDetails,
      OutputS3Region: this.region,
      OutputS3BucketName: '',
      OutputS3KeyPrefix: '',
      MaxConcurrency: command.maxConcurrency,
      MaxErrors: command.maxErrors,
      TargetCount: targetCount ?? (command.resolved ? command.invocations.length : 0),
      CompletedCount: command.resolved ? terminal.length : 0,
      ErrorCount: command.errors,
      DeliveryTimedOutCount: command.invocations.filter((i) => i.statusDetails === 'DeliveryTimedOut').length,
      ServiceRole: '',
      NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
      TimeoutSeconds: command.timeoutSeconds,
      TriggeredAlarms: [],
    };
  }

  #page<T>(items: T[], input: Json, scope: string): { page: T[]; NextToken?: string } {
    const maxResults = input.MaxResults === undefined ? 50 : Number(input.MaxResults);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 50)
      throw validation('maxResults', 'Member must have value less than or equal to 50', input.MaxResults);
    let offset = 0;
    if (input.NextToken !== undefined) {
      const decoded = Buffer.from(String(input.NextToken), 'base64').toString('utf8').split('|');
      if (decoded.length !== 2 || decoded[0] !== scope || !/^\d+$/.test(decoded[1] ?? ''))
        throw new SsmError('InvalidNextToken', "The specified token isn't valid.");
      offset = Number(decoded[1]);
    }
    const page = items.slice(offset, offset + maxResults);
    const next = offset + maxResults < items.length ? offset + maxResults : undefined;
    return next === undefined ? { page } : { page, NextToken: Buffer.from(`${scope}|${next}`).toString('base64') };
  }

  #statusFilters(input: Json): ((status: string) => boolean) | undefined {
    const filters = input.Filters;
    if (filters === undefined) return undefined;
    if (!Array.isArray(filters)) throw validation('filters', 'Member must be a list');
    const statuses = (filters as Json[]).filter((f) => f.key === 'Status').map((f) => String(f.value));
    if (statuses.length === 0) return undefined;
    return (status) => statuses.includes(status);
  }

  #listCommands(input: Json): Json {
    let commands = [...this.#commands.values()];
    if (input.CommandId !== undefined) {
      const command = this.#commands.get(String(input.CommandId));
      if (!command) throw new SsmError('InvalidCommandId', 'The command ID is not valid.');
      commands = [command];
    }
    if (input.InstanceId !== undefined)
      commands = commands.filter((c) => c.invocations.some((i) => i.instanceId === input.InstanceId));
    const keep = this.#statusFilters(input);
    if (keep) commands = commands.filter((c) => keep(c.status));
    const { page, NextToken } = this.#page(commands, input, `commands:${String(input.CommandId ?? '')}`);
    return { Commands: page.map((c) => this.#describeCommand(c)), ...(NextToken ? { NextToken } : {}) };
  }

  #listCommandInvocations(input: Json): Json {
    let commands = [...this.#commands.values()];
    if (input.CommandId !== undefined) {
      const command = this.#commands.get(String(input.CommandId));
      if (!command) throw new SsmError('InvalidCommandId', 'The command ID is not valid.');
      commands = [command];
    }
    let invocations = commands.filter((c) => c.resolved).flatMap((c) => c.invocations.map((i) => ({ c, i })));
    if (input.InstanceId !== undefined) invocations = invocations.filter(({ i }) => i.instanceId === input.InstanceId);
    const keep = this.#statusFilters(input);
    if (keep) invocations = invocations.filter(({ i }) => keep(i.status));
    const scope = `invocations:${String(input.CommandId ?? '')}:${String(input.InstanceId ?? '')}`;
    const { page, NextToken } = this.#page(invocations, input, scope);
    const details = input.Details === true;
    return {
      CommandInvocations: page.map(({ c, i }) => ({
        CommandId: c.commandId,
        InstanceId: i.instanceId,
        InstanceName: i.instanceName,
        Comment: c.comment,
        DocumentName: c.documentName,
        DocumentVersion: c.documentVersion,
        RequestedDateTime: epochSeconds(i.requestedAt),
        Status: i.status,
        StatusDetails: i.statusDetails,
        TraceOutput: '',
        StandardOutputUrl: '',
        StandardErrorUrl: '',
        CommandPlugins:
          details && i.status !== 'Pending'
            ? c.document.mainSteps.map((step) => ({
                Name: step.name,
                Status: i.status,
                StatusDetails: i.statusDetails,
                ResponseCode: i.responseCode,
                ...(i.startedAt !== undefined ? { ResponseStartDateTime: epochSeconds(i.startedAt) } : {}),
                ...(i.finishedAt !== undefined ? { ResponseFinishDateTime: epochSeconds(i.finishedAt) } : {}),
                Output: TERMINAL.has(i.status) ? truncatePluginOutput(i.stdout, i.stderr) : '',
                StandardOutputUrl: '',
                StandardErrorUrl: '',
                OutputS3Region: this.region,
                OutputS3BucketName: '',
                OutputS3KeyPrefix: '',
              }))
            : [],
        ServiceRole: '',
        NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
        CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
      })),
      ...(NextToken ? { NextToken } : {}),
    };
  }

  #getCommandInvocation(input: Json): Json {
    const command = this.#commands.get(String(input.CommandId ?? ''));
    if (!command) throw new SsmError('InvalidCommandId', 'The command ID is not valid.');
    const invocation = command.resolved
      ? command.invocations.find((i) => i.instanceId === input.InstanceId)
      : undefined;
    if (!invocation)
      throw new SsmError(
        'InvocationDoesNotExist',
        'An error occurred (InvocationDoesNotExist) when calling the GetCommandInvocation operation',
      );
    const steps = command.document.mainSteps;
    if (input.PluginName === undefined && steps.length > 1)
      throw new SsmError('InvalidPluginName', 'The plugin name is not valid: the document has several steps.');
    const step = input.PluginName === undefined ? steps[0] : steps.find((s) => s.name === input.PluginName);
    if (!step) throw new SsmError('InvalidPluginName', 'The plugin name is not valid.');
    const terminal = TERMINAL.has(invocation.status);
    const iso = (ms?: number) => (ms === undefined ? '' : new Date(ms).toISOString());
    return {
      CommandId: command.commandId,
      InstanceId: invocation.instanceId,
      Comment: command.comment,
      DocumentName: command.documentName,
      DocumentVersion: command.documentVersion,
      PluginName: step.name,
      ResponseCode: invocation.responseCode,
      ExecutionStartDateTime: iso(invocation.startedAt),
      ExecutionElapsedTime:
        invocation.startedAt === undefined
          ? ''
          : isoDuration((invocation.finishedAt ?? this.#now()) - invocation.startedAt),
      ExecutionEndDateTime: iso(invocation.finishedAt),
      Status: invocation.status,
      StatusDetails: invocation.statusDetails,
      StandardOutputContent: terminal ? invocation.stdout.slice(0, STDOUT_LIMIT) : '',
      StandardOutputUrl: '',
      StandardErrorContent: terminal ? invocation.stderr.slice(0, STDERR_LIMIT) : '',
      StandardErrorUrl: '',
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
    };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Documents

  #parseContent(content: unknown, format: unknown): CommandDocument {
    if (typeof content !== 'string' || content === '') throw validation('content', 'Member must not be null');
    if (format !== undefined && format !== 'JSON')
      throw new SsmError('InvalidDocumentContent', `DocumentFormat ${String(format)} is not supported by this server.`);
    const problems = validateCommandDocument(content);
    if (problems.length > 0) throw new SsmError('InvalidDocumentContent', problems.join('; '));
    const parsed = JSON.parse(content) as CommandDocument;
    parsed.parameters ??= {};
    return parsed;
  }

  #newVersion(version: string, content: string, parsed: CommandDocument): DocumentVersion {
    const now = this.#now();
    return {
      version,
      content,
      parsed,
      hash: wire.sha256Hex(content),
      createdAt: now,
      activeAt: now + (this.#options.documentActivationMs ?? 100),
    };
  }

  #documentDescription(stored: StoredDocument, version: DocumentVersion): Json {
    return {
      Hash: version.hash,
      HashType: 'Sha256',
      Name: stored.name,
      Owner: stored.owner,
      CreatedDate: epochSeconds(version.createdAt),
      Status: this.#now() < version.activeAt ? 'Creating' : 'Active',
      DocumentVersion: version.version,
      Description: version.parsed.description ?? '',
      Parameters: Object.entries(version.parsed.parameters).map(([name, definition]) => ({
        Name: name,
        Type: definition.type,
        Description: definition.description ?? '',
        ...(definition.default !== undefined
          ? {
              DefaultValue: Array.isArray(definition.default)
                ? definition.default.join(',')
                : String(definition.default),
            }
          : {}),
      })),
      PlatformTypes: ['Linux', 'MacOS'],
      DocumentType: stored.documentType,
      SchemaVersion: version.parsed.schemaVersion,
      LatestVersion: stored.versions.at(-1)?.version,
      DefaultVersion: stored.defaultVersion,
      DocumentFormat: 'JSON',
      ...(stored.targetType ? { TargetType: stored.targetType } : {}),
      Tags: [],
    };
  }

  #createDocument(input: Json): Json {
    const name = input.Name;
    if (typeof name !== 'string' || !/^[a-zA-Z0-9_\-.]{3,128}$/.test(name))
      throw validation('name', 'Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-.]{3,128}$', name);
    if (/^(aws|amazon|amzn)/i.test(name))
      throw new SsmError('ValidationException', 'Document names cannot start with aws, amazon or amzn.');
    if (this.#documents.has(name))
      throw new SsmError('DocumentAlreadyExists', 'The specified document already exists.');
    const documentType = (input.DocumentType as string | undefined) ?? 'Command';
    if (documentType !== 'Command')
      throw new SsmError('InvalidDocumentType', `Document type ${documentType} is not supported by this server.`);
    const parsed = this.#parseContent(input.Content, input.DocumentFormat);
    const stored: StoredDocument = {
      name,
      owner: this.accountId,
      documentType,
      ...(typeof input.TargetType === 'string' ? { targetType: input.TargetType } : {}),
      versions: [this.#newVersion('1', input.Content as string, parsed)],
      defaultVersion: '1',
    };
    this.#documents.set(name, stored);
    return { DocumentDescription: this.#documentDescription(stored, stored.versions[0] as DocumentVersion) };
  }

  #updateDocument(input: Json): Json {
    const name = String(input.Name ?? '');
    const stored = this.#documents.get(name);
    if (!stored) throw new SsmError('InvalidDocument', `Document with name ${name} does not exist.`);
    if (stored.owner !== this.accountId)
      throw new SsmError('InvalidDocumentOperation', 'You can only update documents you own.');
    const latest = stored.versions.at(-1) as DocumentVersion;
    const given = input.DocumentVersion as string | undefined;
    if (given !== undefined && given !== '$LATEST' && given !== latest.version)
      throw new SsmError('InvalidDocumentVersion', 'You can only update the latest version of a document.');
    const parsed = this.#parseContent(input.Content, input.DocumentFormat);
    const hash = wire.sha256Hex(input.Content as string);
    if (stored.versions.some((v) => v.hash === hash))
      throw new SsmError(
        'DuplicateDocumentContent',
        'The content of the association document matches another document. Change the content of the document and try again.',
      );
    const version = this.#newVersion(String(Number(latest.version) + 1), input.Content as string, parsed);
    stored.versions.push(version);
    return { DocumentDescription: this.#documentDescription(stored, version) };
  }

  #describeDocument(input: Json): Json {
    const { stored, version } = this.#findDocumentVersion(
      String(input.Name ?? ''),
      input.DocumentVersion as string | undefined,
    );
    return { Document: this.#documentDescription(stored, version) };
  }

  #updateDocumentDefaultVersion(input: Json): Json {
    const name = String(input.Name ?? '');
    const wanted = input.DocumentVersion;
    if (typeof wanted !== 'string' || !/^([$]LATEST|[$]DEFAULT|[1-9][0-9]*)$/.test(wanted))
      throw validation(
        'documentVersion',
        'Member must satisfy regular expression pattern: ([$]LATEST|[$]DEFAULT|^[1-9][0-9]*$)',
        wanted,
      );
    const { stored, version } = this.#findDocumentVersion(name, wanted);
    if (stored.owner !== this.accountId)
      throw new SsmError('InvalidDocumentOperation', 'You can only change documents you own.');
    stored.defaultVersion = version.version;
    return { Description: { Name: stored.name, DefaultVersion: version.version } };
  }
}

/** Kills a script's whole process group (it was started detached, leading its own group). */
function killTree(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
