/**
 * What happened on each node, from SSM's invocation status and the node script's JSON result line.
 *
 * SSM's side: Undeliverable (StatusDetails; Status Failed, ResponseCode -1) when the node is offline or its agent is
 * not connected; TimedOut with DeliveryTimedOut (never picked up) or ExecutionTimedOut (ran past --timeout);
 * Cancelled, and Terminated when --max-errors stopped the command before it reached the node; Failed with the
 * script's exit code otherwise. The node's side, from its result line: agent-unsupported (old glibc, unknown
 * architecture), download or checksum failures, collection and upload failures.
 */

export type NodeStatus =
  | 'ok'
  | 'failed'
  | 'undeliverable'
  | 'invalid-instance'
  | 'timed-out'
  | 'cancelled'
  | 'not-run'
  | 'agent-unsupported'
  | 'upload-failed'
  | 'download-failed';

/** The JSON line the node script prints (templates/eks-node-diag-node.sh). */
export interface NodeResultLine {
  eksNodeDiag: 'node-result@1';
  instanceId: string;
  arch: string;
  status:
    | 'uploaded'
    | 'agent-unsupported'
    | 'download-failed'
    | 'checksum-mismatch'
    | 'form-unavailable'
    | 'collect-failed'
    | 'upload-failed'
    | 'failed';
  exitCode: number;
  seconds: number;
  key?: string;
  bytes?: number;
  kept?: string;
  error?: string;
}

/** The script's exit status for a node whose glibc is too old (agent/launch/check-glibc.sh). */
export const GLIBC_EXIT_CODE = 42;
export const NO_AGENT_EXIT_CODE = 43;

const RESULT_STATUSES = new Set<NodeResultLine['status']>([
  'uploaded',
  'agent-unsupported',
  'download-failed',
  'checksum-mismatch',
  'form-unavailable',
  'collect-failed',
  'upload-failed',
  'failed',
]);

/** Finds the node script's result line in command output; undefined when there is none (or it was cut off). */
export function parseResultLine(output: string | undefined): NodeResultLine | undefined {
  if (!output) return undefined;
  for (const line of output.split('\n')) {
    const text = line.trim();
    if (!text.startsWith('{"eksNodeDiag":')) continue;
    try {
      const parsed = JSON.parse(text) as Partial<NodeResultLine>;
      if (
        parsed.eksNodeDiag === 'node-result@1' &&
        typeof parsed.instanceId === 'string' &&
        typeof parsed.status === 'string' &&
        RESULT_STATUSES.has(parsed.status) &&
        typeof parsed.exitCode === 'number'
      )
        return parsed as NodeResultLine;
    } catch {
      // A truncated or garbled line: keep looking, the caller falls back to GetCommandInvocation.
    }
  }
  return undefined;
}

/** SSM's view of one invocation, as the follower last saw it. */
export interface InvocationView {
  instanceId: string;
  status: string;
  statusDetails: string;
  responseCode?: number;
  /** Plugin output as ListCommandInvocations shows it (at most 2,500 characters). */
  output?: string;
  startedAt?: Date;
  finishedAt?: Date;
  requestedAt?: Date;
}

export const TERMINAL_STATUSES = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled']);

export function isTerminal(view: Pick<InvocationView, 'status'>): boolean {
  return TERMINAL_STATUSES.has(view.status);
}

/** StatusDetails as SSM spells it on the wire ("DeliveryTimedOut") or in its documentation ("Delivery Timed Out"). */
function details(view: InvocationView): string {
  return view.statusDetails.replace(/\s+/g, '');
}

export interface NodeOutcome {
  instanceId: string;
  status: NodeStatus;
  /** SSM's Status/StatusDetails, e.g. `Failed/Undeliverable`. */
  ssm: string;
  responseCode?: number;
  durationMs?: number;
  error?: string;
  result?: NodeResultLine;
  /** Where the node put its bundle (when it says it did). */
  key?: string;
  /** The downloaded bundle. */
  bundle?: string;
  bundleBytes?: number;
  report?: string;
}

function firstLines(text: string | undefined, max = 300): string | undefined {
  if (!text) return undefined;
  const errorPart = text.includes('----------ERROR-------') ? text.split('----------ERROR-------')[1] : text;
  const cleaned = (errorPart ?? text)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('{"eksNodeDiag"'))
    .slice(-3)
    .join(' / ');
  return cleaned ? cleaned.slice(0, max) : undefined;
}

/** Turns SSM's final word on an invocation (and the node's result line, when there is one) into an outcome. */
export function classifyInvocation(view: InvocationView, result: NodeResultLine | undefined): NodeOutcome {
  const ssm = `${view.status}/${view.statusDetails}`;
  const durationMs =
    view.startedAt && view.finishedAt ? Math.max(0, view.finishedAt.getTime() - view.startedAt.getTime()) : undefined;
  const base = {
    instanceId: view.instanceId,
    ssm,
    ...(view.responseCode !== undefined ? { responseCode: view.responseCode } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    ...(result ? { result } : {}),
  };
  const detail = details(view);
  if (detail === 'Undeliverable')
    return {
      ...base,
      status: 'undeliverable',
      error: 'SSM could not deliver the command: the node is offline, stopped, or its SSM agent is not connected',
    };
  if (detail === 'DeliveryTimedOut')
    return { ...base, status: 'timed-out', error: 'the node never picked the command up before the delivery timeout' };
  if (view.status === 'TimedOut' || detail === 'ExecutionTimedOut')
    return { ...base, status: 'timed-out', error: 'the node script ran longer than --timeout and was stopped' };
  if (detail === 'Terminated')
    return { ...base, status: 'not-run', error: 'not run: --max-errors was reached before SSM got to this node' };
  if (view.status === 'Cancelled' || view.status === 'Cancelling')
    return { ...base, status: 'cancelled', error: 'the command was cancelled' };
  if (detail === 'AccessDenied' || detail === 'InvalidPlatform')
    return { ...base, status: 'failed', error: `SSM: ${view.statusDetails}` };

  if (result) {
    const error = result.error;
    switch (result.status) {
      case 'uploaded':
        if (view.status === 'Success') return { ...base, status: 'ok', ...(result.key ? { key: result.key } : {}) };
        break;
      case 'agent-unsupported':
        return { ...base, status: 'agent-unsupported', error: error ?? 'the agent cannot run on this node' };
      case 'upload-failed':
        return { ...base, status: 'upload-failed', error: error ?? 'the bundle could not be uploaded' };
      default:
        return { ...base, status: 'failed', error: `${result.status}: ${error ?? `exit ${result.exitCode}`}` };
    }
  }
  if (view.status === 'Success')
    return { ...base, status: 'failed', error: 'the node script ended without its result line' };
  if (view.responseCode === GLIBC_EXIT_CODE || view.responseCode === NO_AGENT_EXIT_CODE)
    return {
      ...base,
      status: 'agent-unsupported',
      error: firstLines(view.output) ?? 'the agent cannot run on this node (glibc older than 2.28?)',
    };
  return {
    ...base,
    status: 'failed',
    error: `exit ${view.responseCode ?? '?'}${firstLines(view.output) ? `: ${firstLines(view.output)}` : ''}`,
  };
}

export function isSuccess(outcome: Pick<NodeOutcome, 'status'>): boolean {
  return outcome.status === 'ok';
}
