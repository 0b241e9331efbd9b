/**
 * The local SSM server against the real AWS SDK v3 (JSON 1.1, SigV4): what SSM refuses must be refused with SSM's
 * error types, and Run Command's scheduling and output limits must hold, or tests built on it would pass against
 * something SSM does not do.
 */
import {
  CancelCommandCommand,
  CreateDocumentCommand,
  DescribeDocumentCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type SendCommandCommandInput,
  SSMClient,
  UpdateDocumentCommand,
  UpdateDocumentDefaultVersionCommand,
} from '@aws-sdk/client-ssm';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_SSM_CREDENTIALS,
  SsmServer as Server,
  type SsmServer,
  type SsmServerOptions,
  type SsmTarget,
  THROTTLING,
  truncatePluginOutput,
  validateCommandDocument,
} from './ssm-server.ts';

let server: SsmServer | undefined;

async function start(options: SsmServerOptions = {}): Promise<SsmServer> {
  server = await Server.start(options);
  return server;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
});

function client(options: { credentials?: typeof DEFAULT_SSM_CREDENTIALS; region?: string; maxAttempts?: number } = {}) {
  return new SSMClient({
    region: options.region ?? 'us-east-1',
    endpoint: server?.url,
    credentials: options.credentials ?? DEFAULT_SSM_CREDENTIALS,
    maxAttempts: options.maxAttempts ?? 1,
  });
}

const shell = (commands: string[], extra: Partial<SendCommandCommandInput> = {}): SendCommandCommandInput => ({
  DocumentName: 'AWS-RunShellScript',
  Parameters: { commands },
  ...extra,
});

const synthetic = (
  instanceId: string,
  result: { exitCode: number; stdout?: string; stderr?: string; delayMs?: number },
  extra: Partial<SsmTarget> = {},
): SsmTarget => ({
  instanceId,
  run: {
    kind: 'synthetic',
    handler: async () => {
      await new Promise((resolve) => setTimeout(resolve, result.delayMs ?? 5));
      return result;
    },
  },
  ...extra,
});

async function finished(ssm: SSMClient, commandId: string) {
  await server?.settled();
  const listed = await ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true }));
  return new Map((listed.CommandInvocations ?? []).map((invocation) => [invocation.InstanceId, invocation]));
}

describe('SigV4 and the JSON 1.1 wire', () => {
  it('refuses a wrong secret, an unknown key, another region and another service with SSM error types', async () => {
    await start();
    const cases: [SSMClient, string][] = [
      [client({ credentials: { ...DEFAULT_SSM_CREDENTIALS, secretAccessKey: 'wrong' } }), 'InvalidSignatureException'],
      [
        client({ credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' } }),
        'UnrecognizedClientException',
      ],
      [client({ region: 'eu-west-1' }), 'InvalidSignatureException'],
    ];
    for (const [ssm, type] of cases) {
      await expect(ssm.send(new ListCommandsCommand({}))).rejects.toMatchObject({ name: type });
      ssm.destroy();
    }
    expect(server?.requests.map((r) => r.status)).toEqual([400, 400, 400]);
  });

  it('answers raw requests without a signature, with a bad body or an unknown operation as SSM does', async () => {
    const { url } = await start();
    const post = (headers: Record<string, string>, body = '{}') =>
      fetch(url, { method: 'POST', headers, body }).then(async (r) => ({ status: r.status, body: await r.json() }));
    expect(await post({ 'x-amz-target': 'AmazonSSM.ListCommands' })).toEqual({
      status: 400,
      body: { __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' },
    });
    expect(
      (await post({ 'x-amz-target': 'AmazonSSM.ListCommands', authorization: 'AWS4-HMAC-SHA256 Credential=x' })).body
        .__type,
    ).toBe('IncompleteSignatureException');
    // Properly signed requests: for service s3 (refused), an unknown operation, a body that is not JSON.
    const signed = async (service: string, target: string, body: string) => {
      const signer = new SignatureV4({
        service,
        region: 'us-east-1',
        credentials: DEFAULT_SSM_CREDENTIALS,
        sha256: Sha256,
      });
      const endpoint = new URL(url);
      const request = await signer.sign({
        method: 'POST',
        protocol: 'http:',
        hostname: endpoint.hostname,
        port: Number(endpoint.port),
        path: '/',
        headers: { host: endpoint.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
        body,
      });
      return post(request.headers as Record<string, string>, body);
    };
    expect((await signed('s3', 'AmazonSSM.ListCommands', '{}')).body).toEqual({
      __type: 'InvalidSignatureException',
      message: "Credential should be scoped to correct service: 'ssm'. ",
    });
    expect((await signed('ssm', 'AmazonSSM.DeleteEverything', '{}')).body.__type).toBe('UnknownOperationException');
    expect((await signed('ssm', 'AmazonSSM.ListCommands', '{"CommandId":')).body.__type).toBe('SerializationException');
    expect((await signed('ssm', 'AmazonSSM.ListCommands', '{}')).body).toEqual({ Commands: [] });
  });
});

describe('SendCommand validation', () => {
  it.each([
    ['no target at all', shell(['true']), 'InvalidParameters'],
    [
      'both instance ids and targets',
      shell(['true'], { InstanceIds: ['i-00000001'], Targets: [{ Key: 'tag:a', Values: ['b'] }] }),
      'InvalidParameters',
    ],
    [
      '51 instance ids',
      shell(['true'], { InstanceIds: Array.from({ length: 51 }, (_, i) => `i-${String(i).padStart(8, '0')}`) }),
      'ValidationException',
    ],
    [
      'a malformed MaxConcurrency',
      shell(['true'], { InstanceIds: ['i-00000001'], MaxConcurrency: '0' }),
      'ValidationException',
    ],
    ['a malformed MaxErrors', shell(['true'], { InstanceIds: ['i-00000001'], MaxErrors: '-1' }), 'ValidationException'],
    [
      'a delivery timeout under 30 s',
      shell(['true'], { InstanceIds: ['i-00000001'], TimeoutSeconds: 10 }),
      'ValidationException',
    ],
    ['an unknown document', { DocumentName: 'Nope-Doc', InstanceIds: ['i-00000001'] }, 'InvalidDocument'],
    [
      'a parameter the document lacks',
      shell(['true'], { InstanceIds: ['i-00000001'], Parameters: { commands: ['x'], color: ['red'] } }),
      'InvalidParameters',
    ],
    [
      'a missing required parameter',
      { DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-00000001'] },
      'InvalidParameters',
    ],
    [
      'an executionTimeout off its pattern',
      shell(['true'], { InstanceIds: ['i-00000001'], Parameters: { commands: ['x'], executionTimeout: ['soon'] } }),
      'InvalidParameters',
    ],
  ])('refuses %s', async (_name, input, type) => {
    await start({ targets: [synthetic('i-00000001', { exitCode: 0 })] });
    const ssm = client();
    await expect(ssm.send(new SendCommandCommand(input as SendCommandCommandInput))).rejects.toMatchObject({
      name: type,
    });
    expect(server?.commands()).toEqual([]);
    ssm.destroy();
  });

  it('names the instances it refuses, as SSM does', async () => {
    await start({ targets: [synthetic('i-00000001', { exitCode: 0 })] });
    const ssm = client();
    await expect(
      ssm.send(new SendCommandCommand(shell(['true'], { InstanceIds: ['i-00000001', 'i-0000dead', 'i-0000beef'] }))),
    ).rejects.toMatchObject({
      name: 'InvalidInstanceId',
      message: 'Instances [[i-0000dead, i-0000beef]] not in a valid state for account 123456789012',
    });
    ssm.destroy();
  });
});

describe('Run Command scheduling', () => {
  it('goes Pending -> InProgress -> Success/Failed, with ResponseCode and both truncations', async () => {
    const long = 'x'.repeat(30_000);
    await start({
      targets: [
        synthetic('i-00000001', { exitCode: 0, stdout: 'fine\n', delayMs: 200 }),
        synthetic('i-00000002', { exitCode: 3, stdout: long, stderr: 'e'.repeat(9000), delayMs: 200 }),
      ],
    });
    const ssm = client();
    const sent = await ssm.send(
      new SendCommandCommand(shell(['true'], { InstanceIds: ['i-00000001', 'i-00000002'], MaxErrors: '1' })),
    );
    const commandId = sent.Command?.CommandId as string;
    expect(sent.Command).toMatchObject({ Status: 'Pending', TargetCount: 2, MaxConcurrency: '50', MaxErrors: '1' });
    const early = await ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId }));
    expect(early.CommandInvocations?.map((i) => i.Status)).toEqual(['InProgress', 'InProgress']);
    const invocations = await finished(ssm, commandId);
    expect(invocations.get('i-00000001')).toMatchObject({ Status: 'Success', StatusDetails: 'Success' });
    const failed = invocations.get('i-00000002');
    expect(failed).toMatchObject({ Status: 'Failed', StatusDetails: 'Failed' });
    const plugin = failed?.CommandPlugins?.[0];
    expect(plugin).toMatchObject({ Name: 'runShellScript', ResponseCode: 3 });
    expect(plugin?.Output).toHaveLength(2500);
    expect(plugin?.Output).toContain('\n---Output truncated---\n----------ERROR-------\n');
    expect(plugin?.ResponseFinishDateTime).toBeInstanceOf(Date);
    const full = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: 'i-00000002' }));
    expect(full.StandardOutputContent).toHaveLength(24_000);
    expect(full.StandardErrorContent).toHaveLength(8000);
    expect(full).toMatchObject({ ResponseCode: 3, PluginName: 'runShellScript', Status: 'Failed' });
    const command = await ssm.send(new ListCommandsCommand({ CommandId: commandId }));
    expect(command.Commands?.[0]).toMatchObject({
      Status: 'Failed',
      StatusDetails: 'Incomplete',
      CompletedCount: 2,
      ErrorCount: 1,
    });
    await expect(
      ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: 'i-0000beef' })),
    ).rejects.toMatchObject({ name: 'InvocationDoesNotExist' });
    ssm.destroy();
  });

  it('pages ListCommandInvocations with MaxResults and NextToken, and refuses a forged token', async () => {
    const targets = Array.from({ length: 7 }, (_, i) =>
      synthetic(`i-0000000${i}`, { exitCode: 0 }, { tags: { app: 'web' } }),
    );
    await start({ targets });
    const ssm = client();
    const sent = await ssm.send(
      new SendCommandCommand(shell(['true'], { Targets: [{ Key: 'tag:app', Values: ['web'] }] })),
    );
    expect(sent.Command?.TargetCount).toBe(0);
    const commandId = sent.Command?.CommandId as string;
    await server?.settled();
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await ssm.send(
        new ListCommandInvocationsCommand({ CommandId: commandId, MaxResults: 3, NextToken: token }),
      );
      seen.push(...(page.CommandInvocations ?? []).map((i) => i.InstanceId as string));
      token = page.NextToken;
    } while (token);
    expect(seen).toEqual(targets.map((t) => t.instanceId));
    await expect(
      ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, NextToken: 'Zm9yZ2Vk' })),
    ).rejects.toMatchObject({ name: 'InvalidNextToken' });
    await expect(
      ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, MaxResults: 51 })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
    });
    ssm.destroy();
  });

  it('resolves tags: several values of a key widen, several criteria narrow; tag-key matches on the key', async () => {
    await start({
      targets: [
        synthetic('i-00000001', { exitCode: 0 }, { tags: { env: 'prod', role: 'web' } }),
        synthetic('i-00000002', { exitCode: 0 }, { tags: { env: 'dev', role: 'web' } }),
        synthetic(
          'i-00000003',
          { exitCode: 0 },
          { tags: { env: 'prod', role: 'db', 'kubernetes.io/cluster/x': 'owned' } },
        ),
      ],
    });
    const ssm = client();
    const resolved = async (targets: { Key: string; Values: string[] }[]) => {
      const sent = await ssm.send(new SendCommandCommand(shell(['true'], { Targets: targets })));
      return [...(await finished(ssm, sent.Command?.CommandId as string)).keys()];
    };
    expect(await resolved([{ Key: 'tag:env', Values: ['prod', 'dev'] }])).toEqual([
      'i-00000001',
      'i-00000002',
      'i-00000003',
    ]);
    expect(
      await resolved([
        { Key: 'tag:env', Values: ['prod'] },
        { Key: 'tag:role', Values: ['web'] },
      ]),
    ).toEqual(['i-00000001']);
    expect(await resolved([{ Key: 'tag-key', Values: ['kubernetes.io/cluster/x'] }])).toEqual(['i-00000003']);
    expect(await resolved([{ Key: 'tag:env', Values: ['qa'] }])).toEqual([]);
    const empty = server?.commands().at(-1);
    expect(empty).toMatchObject({ status: 'Success', invocations: [] });
    ssm.destroy();
  });

  it('never runs more than MaxConcurrency at once', async () => {
    let running = 0;
    let most = 0;
    const targets: SsmTarget[] = Array.from({ length: 12 }, (_, i) => ({
      instanceId: `i-000000${String(i).padStart(2, '0')}`,
      run: {
        kind: 'synthetic',
        handler: async () => {
          running++;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, 30));
          running--;
          return { exitCode: 0 };
        },
      },
    }));
    await start({ targets });
    const ssm = client();
    const sent = await ssm.send(
      new SendCommandCommand(shell(['true'], { InstanceIds: targets.map((t) => t.instanceId), MaxConcurrency: '25%' })),
    );
    await finished(ssm, sent.Command?.CommandId as string);
    expect(most).toBe(3);
    ssm.destroy();
  });

  it('stops sending past MaxErrors: the rest end Cancelled/Terminated, the command Failed', async () => {
    const targets = Array.from({ length: 5 }, (_, i) => synthetic(`i-0000000${i}`, { exitCode: 1 }));
    await start({ targets });
    const ssm = client();
    const sent = await ssm.send(
      new SendCommandCommand(
        shell(['true'], { InstanceIds: targets.map((t) => t.instanceId), MaxConcurrency: '1', MaxErrors: '1' }),
      ),
    );
    const invocations = await finished(ssm, sent.Command?.CommandId as string);
    expect([...invocations.values()].map((i) => `${i.Status}/${i.StatusDetails}`)).toEqual([
      'Failed/Failed',
      'Failed/Failed',
      'Cancelled/Terminated',
      'Cancelled/Terminated',
      'Cancelled/Terminated',
    ]);
    expect(server?.command(sent.Command?.CommandId as string)?.status).toBe('Failed');
    ssm.destroy();
  });

  it('reports offline nodes Undeliverable (-1, not an error) and unresponsive ones DeliveryTimedOut', async () => {
    await start({
      timeScale: 0.005,
      targets: [
        synthetic('i-00000001', { exitCode: 0 }, { connection: 'offline' }),
        synthetic('i-00000002', { exitCode: 0 }, { connection: 'unresponsive' }),
        synthetic('i-00000003', { exitCode: 0 }),
      ],
    });
    const ssm = client();
    const sent = await ssm.send(
      new SendCommandCommand(
        shell(['true'], { InstanceIds: ['i-00000001', 'i-00000002', 'i-00000003'], TimeoutSeconds: 60 }),
      ),
    );
    const invocations = await finished(ssm, sent.Command?.CommandId as string);
    expect(invocations.get('i-00000001')).toMatchObject({ Status: 'Failed', StatusDetails: 'Undeliverable' });
    expect(invocations.get('i-00000001')?.CommandPlugins?.[0]?.ResponseCode).toBe(-1);
    expect(invocations.get('i-00000002')).toMatchObject({ Status: 'TimedOut', StatusDetails: 'DeliveryTimedOut' });
    const command = (await ssm.send(new ListCommandsCommand({ CommandId: sent.Command?.CommandId }))).Commands?.[0];
    expect(command).toMatchObject({ ErrorCount: 0, DeliveryTimedOutCount: 1, CompletedCount: 3 });
    ssm.destroy();
  });
});

describe('running the script for real', () => {
  it('runs it with sh as SSM Agent would: _script.sh in the orchestration directory, AWS_SSM_* set', async () => {
    await start({ targets: [{ instanceId: 'i-00000001', run: { kind: 'script', env: { EXTRA: 'yes' } } }] });
    const ssm = client();
    const commands = [
      'echo "$AWS_SSM_INSTANCE_ID $AWS_SSM_REGION_NAME $EXTRA"',
      'pwd',
      'cat _script.sh | wc -l',
      'echo oops >&2',
      'exit 7',
    ];
    const sent = await ssm.send(new SendCommandCommand({ ...shell(commands), InstanceIds: ['i-00000001'] }));
    const commandId = sent.Command?.CommandId as string;
    await server?.settled();
    const full = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: 'i-00000001' }));
    const [identity, cwd, lines] = (full.StandardOutputContent ?? '').trim().split('\n');
    expect(identity).toBe('i-00000001 us-east-1 yes');
    expect(cwd).toMatch(new RegExp(`/i-00000001/document/orchestration/${commandId}/runShellScript$`));
    expect(lines?.trim()).toBe('5');
    expect(full).toMatchObject({ Status: 'Failed', ResponseCode: 7, StandardErrorContent: 'oops\n' });
    ssm.destroy();
  });

  it('stops a script past its execution timeout (TimedOut/ExecutionTimedOut) and one that is cancelled', async () => {
    await start({
      timeScale: 0.1,
      targets: [
        { instanceId: 'i-00000001', run: { kind: 'script' } },
        { instanceId: 'i-00000002', run: { kind: 'script' } },
      ],
    });
    const ssm = client();
    const slow = await ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: ['i-00000001'],
        Parameters: { commands: ['sleep 30'], executionTimeout: ['2'] },
      }),
    );
    const cancelled = await ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: ['i-00000002'],
        Parameters: { commands: ['sleep 30'] },
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await ssm.send(new CancelCommandCommand({ CommandId: cancelled.Command?.CommandId }));
    const timedOut = await finished(ssm, slow.Command?.CommandId as string);
    expect(timedOut.get('i-00000001')).toMatchObject({ Status: 'TimedOut', StatusDetails: 'ExecutionTimedOut' });
    const stopped = await finished(ssm, cancelled.Command?.CommandId as string);
    expect(stopped.get('i-00000002')).toMatchObject({ Status: 'Cancelled', StatusDetails: 'Cancelled' });
    expect(server?.command(cancelled.Command?.CommandId as string)?.status).toBe('Cancelled');
    ssm.destroy();
  });
});

describe('documents', () => {
  const content = JSON.stringify({
    schemaVersion: '2.2',
    description: 'test',
    parameters: { Word: { type: 'String', default: 'hi', allowedPattern: '^[a-z]+$' } },
    mainSteps: [{ action: 'aws:runShellScript', name: 'say', inputs: { runCommand: ['echo {{ Word }}'] } }],
  });

  it('creates, describes (Creating, then Active), updates and sets the default version', async () => {
    await start({ documentActivationMs: 150, targets: [{ instanceId: 'i-00000001', run: { kind: 'script' } }] });
    const ssm = client();
    const created = await ssm.send(
      new CreateDocumentCommand({ Name: 'My-Doc', Content: content, DocumentType: 'Command', DocumentFormat: 'JSON' }),
    );
    expect(created.DocumentDescription).toMatchObject({
      Status: 'Creating',
      DocumentVersion: '1',
      DefaultVersion: '1',
      HashType: 'Sha256',
    });
    await expect(
      ssm.send(new SendCommandCommand({ DocumentName: 'My-Doc', InstanceIds: ['i-00000001'] })),
    ).rejects.toMatchObject({ name: 'InvalidDocument' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await ssm.send(new DescribeDocumentCommand({ Name: 'My-Doc' }))).Document?.Status).toBe('Active');
    await expect(ssm.send(new CreateDocumentCommand({ Name: 'My-Doc', Content: content }))).rejects.toMatchObject({
      name: 'DocumentAlreadyExists',
    });
    await expect(
      ssm.send(new UpdateDocumentCommand({ Name: 'My-Doc', Content: content, DocumentVersion: '$LATEST' })),
    ).rejects.toMatchObject({
      name: 'DuplicateDocumentContent',
    });
    const changed = content.replace('"hi"', '"hello"');
    const updated = await ssm.send(
      new UpdateDocumentCommand({ Name: 'My-Doc', Content: changed, DocumentVersion: '$LATEST' }),
    );
    expect(updated.DocumentDescription).toMatchObject({
      DocumentVersion: '2',
      LatestVersion: '2',
      DefaultVersion: '1',
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await ssm.send(new UpdateDocumentDefaultVersionCommand({ Name: 'My-Doc', DocumentVersion: '2' }));
    const sent = await ssm.send(new SendCommandCommand({ DocumentName: 'My-Doc', InstanceIds: ['i-00000001'] }));
    await server?.settled();
    const output = await ssm.send(
      new GetCommandInvocationCommand({ CommandId: sent.Command?.CommandId, InstanceId: 'i-00000001' }),
    );
    expect(output).toMatchObject({ StandardOutputContent: 'hello\n', PluginName: 'say' });
    ssm.destroy();
  });

  it.each([
    ['not JSON', '{', /not valid JSON/],
    ['another schema', JSON.stringify({ schemaVersion: '1.2', mainSteps: [] }), /schemaVersion must be "2.2"/],
    ['no steps', JSON.stringify({ schemaVersion: '2.2', mainSteps: [] }), /mainSteps must be a non-empty list/],
    [
      'an unknown action',
      JSON.stringify({ schemaVersion: '2.2', mainSteps: [{ action: 'aws:reboot', name: 'x', inputs: {} }] }),
      /unsupported action/,
    ],
    ['an undeclared parameter', content.replace('{{ Word }}', '{{ Other }}'), /undeclared parameter \{\{ Other \}\}/],
    ['a default off its pattern', content.replace('"hi"', '"HI"'), /does not match its allowedPattern/],
    [
      'a duplicate step name',
      JSON.stringify({
        schemaVersion: '2.2',
        mainSteps: [
          { action: 'aws:runShellScript', name: 'a', inputs: { runCommand: ['x'] } },
          { action: 'aws:runShellScript', name: 'a', inputs: { runCommand: ['y'] } },
        ],
      }),
      /used twice/,
    ],
  ])('validates content: refuses %s', async (_name, text, problem) => {
    expect(validateCommandDocument(text).join('; ')).toMatch(problem);
    await start();
    const ssm = client();
    await expect(ssm.send(new CreateDocumentCommand({ Name: 'Bad-Doc', Content: text }))).rejects.toMatchObject({
      name: 'InvalidDocumentContent',
    });
    ssm.destroy();
  });

  it('refuses names that belong to AWS', async () => {
    await start();
    const ssm = client();
    await expect(ssm.send(new CreateDocumentCommand({ Name: 'AWS-Mine', Content: content }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    ssm.destroy();
  });
});

describe('fault injection', () => {
  it('throttles the next requests on demand; the SDK retries them in standard mode', async () => {
    await start();
    server?.failNext(2, THROTTLING, 'ListCommands');
    const once = client();
    await expect(once.send(new ListCommandsCommand({}))).rejects.toMatchObject({ name: 'ThrottlingException' });
    once.destroy();
    const retrying = client({ maxAttempts: 3 });
    expect((await retrying.send(new ListCommandsCommand({}))).Commands).toEqual([]);
    expect(server?.requests.map((r) => r.error ?? r.status)).toEqual([
      'ThrottlingException',
      'ThrottlingException',
      200,
    ]);
    retrying.destroy();
  });

  it('injects throttling and 5xx at random, the same way for the same seed', async () => {
    const pattern = async () => {
      await start({ faults: { seed: 'same', throttleRate: 0.3, serverErrorRate: 0.2 } });
      const ssm = client();
      for (let i = 0; i < 40; i++) await ssm.send(new ListCommandsCommand({})).catch(() => {});
      ssm.destroy();
      const seen = server?.requests.map((r) => r.error ?? 'ok') ?? [];
      await server?.close();
      server = undefined;
      return seen;
    };
    const first = await pattern();
    expect(await pattern()).toEqual(first);
    expect(first).toContain('ThrottlingException');
    expect(first.some((e) => e === 'InternalServerError' || e === 'ServiceUnavailable')).toBe(true);
    expect(first).toContain('ok');
  });
});

describe('truncatePluginOutput (the SSM agent truncation)', () => {
  const long = 'This is a sample text. '.repeat(60);
  it.each([
    ['', '', ''],
    ['sample output', '', 'sample output'],
    ['', 'sample error', '\n----------ERROR-------\nsample error'],
    ['sample output', 'sample error', 'sample output\n----------ERROR-------\nsample error'],
  ])('keeps short output whole (%j, %j)', (stdout, stderr, expected) => {
    expect(truncatePluginOutput(stdout, stderr, 100)).toBe(expected);
  });

  it('cuts the long side with its marker, within the capacity', () => {
    expect(truncatePluginOutput(long, '', 100)).toBe(`${long.slice(0, 77)}\n---Output truncated---`);
    expect(truncatePluginOutput('', long, 100)).toBe(
      `\n----------ERROR-------\n${long.slice(0, 53)}\n---Error truncated----`,
    );
    expect(truncatePluginOutput(long, long, 100)).toBe(
      `${long.slice(0, 15)}\n---Output truncated---\n----------ERROR-------\n${long.slice(0, 15)}\n---Error truncated----`,
    );
    const chatty = long.repeat(3);
    expect(truncatePluginOutput('{"result":1}\n', chatty)).toMatch(/^\{"result":1\}\n\n----------ERROR-------\n/);
    expect(truncatePluginOutput('{"result":1}\n', chatty)).toHaveLength(2500);
  });
});
