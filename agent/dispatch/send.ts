/**
 * Putting the command in SSM: the project's document (created or updated with `--install-document`, or checked when
 * named with `--document`), then ONE SendCommand for the whole target set.
 */
import {
  CreateDocumentCommand,
  DescribeDocumentCommand,
  type DocumentDescription,
  ListCommandsCommand,
  SendCommandCommand,
  type SendCommandCommandInput,
  type SSMClient,
  type Target,
  UpdateDocumentCommand,
  UpdateDocumentDefaultVersionCommand,
} from '@aws-sdk/client-ssm';
import { awsErrorName, awsErrorText } from './clients.ts';
import { documentHash, SSM_DOCUMENT } from './document.ts';
import type { DispatchTarget } from './options.ts';

export class SendError extends Error {
  readonly code = 'ENDIAG_DISPATCH';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function describe(ssm: SSMClient, name: string, version?: string): Promise<DocumentDescription | undefined> {
  try {
    const answer = await ssm.send(
      new DescribeDocumentCommand({ Name: name, ...(version ? { DocumentVersion: version } : {}) }),
    );
    return answer.Document;
  } catch (error) {
    if (awsErrorName(error) === 'InvalidDocument') return undefined;
    throw error;
  }
}

/** Waits for a new document version to leave `Creating` (SendCommand refuses it until then). */
async function waitActive(ssm: SSMClient, name: string, version: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 200; ; pause = Math.min(pause * 2, 3000)) {
    const document = await describe(ssm, name, version);
    if (document?.Status === 'Active') return;
    if (document?.Status === 'Failed')
      throw new SendError(
        `SSM could not create document ${name} version ${version}: ${document.StatusInformation ?? ''}`,
      );
    if (Date.now() > deadline) throw new SendError(`document ${name} version ${version} is still not Active`);
    await sleep(pause);
  }
}

export interface InstalledDocument {
  name: string;
  version: string;
  action: 'created' | 'updated' | 'unchanged';
}

/**
 * Makes `name` hold this build's document as its default version: create it, or add a version (UpdateDocument) and
 * make it the default; nothing when the default already has the same hash.
 */
export async function installDocument(
  ssm: SSMClient,
  name: string,
  content = SSM_DOCUMENT,
): Promise<InstalledDocument> {
  const hash = documentHash(content);
  const current = await describe(ssm, name);
  if (!current) {
    const created = await ssm.send(
      new CreateDocumentCommand({
        Name: name,
        Content: content,
        DocumentType: 'Command',
        DocumentFormat: 'JSON',
        TargetType: '/AWS::EC2::Instance',
      }),
    );
    const version = created.DocumentDescription?.DocumentVersion ?? '1';
    await waitActive(ssm, name, version);
    return { name, version, action: 'created' };
  }
  if (current.Hash === hash && current.DocumentVersion)
    return { name, version: current.DocumentVersion, action: 'unchanged' };
  let version: string;
  const latest = await describe(ssm, name, '$LATEST');
  if (latest?.Hash === hash && latest.DocumentVersion) version = latest.DocumentVersion;
  else {
    try {
      const updated = await ssm.send(
        new UpdateDocumentCommand({ Name: name, Content: content, DocumentVersion: '$LATEST', DocumentFormat: 'JSON' }),
      );
      version = updated.DocumentDescription?.DocumentVersion ?? '';
    } catch (error) {
      if (awsErrorName(error) === 'DuplicateDocumentContent')
        throw new SendError(
          `document ${name} already has this content in an older version; make that version the default ` +
            `(aws ssm update-document-default-version --name ${name} --document-version N) or use another --document name`,
        );
      throw error;
    }
  }
  await waitActive(ssm, name, version);
  await ssm.send(new UpdateDocumentDefaultVersionCommand({ Name: name, DocumentVersion: version }));
  return { name, version, action: 'updated' };
}

/** With `--document NAME` and no install: the default version must be this build's document. */
export async function checkDocument(ssm: SSMClient, name: string, content = SSM_DOCUMENT): Promise<string> {
  const current = await describe(ssm, name);
  if (!current)
    throw new SendError(
      `SSM document ${name} does not exist: install it with --install-document, or leave out --document`,
    );
  if (current.Hash !== documentHash(content))
    throw new SendError(
      `SSM document ${name} (default version ${current.DocumentVersion}) is not the one this eks-node-diag build ` +
        'ships: update it with --install-document, or leave out --document to run the script inline',
    );
  return current.DocumentVersion ?? '$DEFAULT';
}

/** SSM target criteria for tag targets (several values of one key are alternatives). */
export function tagTargets(
  target: Exclude<DispatchTarget, { kind: 'instances' }>,
  clusterTag: 'eks' | 'kubernetes',
): Target[] {
  if (target.kind === 'tag') return [{ Key: `tag:${target.key}`, Values: [target.value] }];
  return clusterTag === 'eks'
    ? [{ Key: 'tag:eks:cluster-name', Values: [target.cluster] }]
    : [{ Key: 'tag-key', Values: [`kubernetes.io/cluster/${target.cluster}`] }];
}

export interface SentCommand {
  commandId: string;
  /** Instance ids when targeted by id (the ones SSM accepted); undefined for tag targets. */
  instanceIds?: string[];
  targets?: Target[];
  /** Instance ids SSM refused (InvalidInstanceId), with its message. */
  invalid: { instanceId: string; message: string }[];
  /** Known once SSM resolved the targets. */
  targetCount?: number;
  describeTargets: string;
}

const INSTANCE_ID = /\b(?:m?i-[0-9a-f]{8,17})\b/g;

/**
 * One SendCommand for the whole set. When SSM refuses instance ids (InvalidInstanceId: not managed, not running,
 * not this account), they are set aside with SSM's message and the command goes to the others.
 */
export async function sendToInstances(
  ssm: SSMClient,
  base: Omit<SendCommandCommandInput, 'InstanceIds' | 'Targets'>,
  instanceIds: string[],
): Promise<SentCommand | { commandId?: undefined; invalid: { instanceId: string; message: string }[] }> {
  const invalid: { instanceId: string; message: string }[] = [];
  let remaining = [...instanceIds];
  while (remaining.length > 0) {
    try {
      const sent = await ssm.send(new SendCommandCommand({ ...base, InstanceIds: remaining }));
      const commandId = sent.Command?.CommandId;
      if (!commandId) throw new SendError('SSM accepted the command but returned no CommandId');
      return {
        commandId,
        instanceIds: remaining,
        invalid,
        targetCount: sent.Command?.TargetCount ?? remaining.length,
        describeTargets: `${remaining.length} instance${remaining.length === 1 ? '' : 's'}`,
      };
    } catch (error) {
      if (awsErrorName(error) !== 'InvalidInstanceId') throw error;
      const message = (error as Error).message;
      const named = new Set(message.match(INSTANCE_ID) ?? []);
      const refused = remaining.filter((id) => named.has(id));
      // SSM does not always say which: then none of them can be sent to, and each says why.
      const dropped = refused.length > 0 ? refused : remaining;
      for (const instanceId of dropped) invalid.push({ instanceId, message });
      remaining = remaining.filter((id) => !dropped.includes(id));
    }
  }
  return { invalid };
}

/** Waits until SSM resolved a tag-targeted command; returns how many targets it found. */
export async function resolvedTargetCount(ssm: SSMClient, commandId: string, timeoutMs = 120_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 250; ; pause = Math.min(pause * 2, 5000)) {
    const listed = await ssm.send(new ListCommandsCommand({ CommandId: commandId }));
    const command = listed.Commands?.[0];
    if (command && command.Status !== 'Pending') return command.TargetCount ?? 0;
    if (command && (command.TargetCount ?? 0) > 0) return command.TargetCount ?? 0;
    if (Date.now() > deadline) return command?.TargetCount ?? 0;
    await sleep(pause);
  }
}

/**
 * Tag targets. `--cluster` first looks for the tag EKS puts on managed node groups (eks:cluster-name); when no node
 * carries it, for the tag key self-managed nodes and Karpenter use (kubernetes.io/cluster/NAME). SSM ANDs several
 * criteria, so the alternative takes a second command, sent only when the first one reached no node.
 */
export async function sendToTags(
  ssm: SSMClient,
  base: Omit<SendCommandCommandInput, 'InstanceIds' | 'Targets'>,
  target: Exclude<DispatchTarget, { kind: 'instances' }>,
  progress: (line: string) => void,
  /** Runs as soon as SSM named a command, before its targets are resolved (nodes may start right away). */
  onSent: (commandId: string) => Promise<void>,
): Promise<SentCommand> {
  const attempts: ('eks' | 'kubernetes')[] = target.kind === 'cluster' ? ['eks', 'kubernetes'] : ['eks'];
  let last: SentCommand | undefined;
  for (const clusterTag of attempts) {
    const targets = tagTargets(target, clusterTag);
    const sent = await ssm.send(new SendCommandCommand({ ...base, Targets: targets }));
    const commandId = sent.Command?.CommandId;
    if (!commandId) throw new SendError('SSM accepted the command but returned no CommandId');
    await onSent(commandId);
    const describeTargets = targets.map((t) => `${t.Key}=${(t.Values ?? []).join(',')}`).join(' and ');
    const targetCount = await resolvedTargetCount(ssm, commandId);
    last = { commandId, targets, invalid: [], targetCount, describeTargets };
    if (targetCount > 0) return last;
    progress(`no managed node matches ${describeTargets} (command ${commandId})`);
  }
  return last as SentCommand;
}

export function describeSendFailure(error: unknown): string {
  const name = awsErrorName(error);
  const hints: Record<string, string> = {
    AccessDeniedException: 'the caller lacks ssm:SendCommand on the document or the targets (see the README policy)',
    InvalidDocument: 'the document does not exist in this region',
    InvalidParameters: 'the document rejected a parameter',
    UnrecognizedClientException: 'the credentials are not valid',
  };
  const hint = name && hints[name] ? ` (${hints[name]})` : '';
  return `SendCommand failed: ${awsErrorText(error)}${hint}`;
}
