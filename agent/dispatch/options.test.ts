import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/main.ts';
import { collectDeadline, deliveryTimeoutSeconds } from './dispatch.ts';
import { DispatchUsageError, describeTarget, validateDispatchOptions } from './options.ts';

const now = new Date('2026-11-26T10:21:47Z');

function problems(raw: Parameters<typeof validateDispatchOptions>[0]): string[] {
  try {
    validateDispatchOptions(raw, now);
  } catch (error) {
    expect(error).toBeInstanceOf(DispatchUsageError);
    expect((error as DispatchUsageError).code).toBe('ENDIAG_USAGE');
    return (error as DispatchUsageError).problems;
  }
  return [];
}

describe('dispatch options', () => {
  it('fills the defaults for a plain cluster dispatch', () => {
    const options = validateDispatchOptions(
      { cluster: 'prod', bucket: 'my-diag-bucket', agentDir: '/opt/agents' },
      now,
    );
    expect(options).toMatchObject({
      target: { kind: 'cluster', cluster: 'prod' },
      bucket: 'my-diag-bucket',
      prefix: 'eks-node-diag',
      maxConcurrency: '50',
      maxErrors: '100%',
      timeoutMs: 900_000,
      since: '24h',
      analyze: false,
      keepOnNode: false,
      installDocument: false,
      agentDir: '/opt/agents',
      pollIntervalMs: 5000,
    });
    expect(options.documentName).toBeUndefined();
    expect(options.out).toMatch(/\/eks-node-diag-dispatch-20261126-102147$/);
  });

  it('splits and dedupes instance ids, trims slashes off the prefix, names the document to install', () => {
    const options = validateDispatchOptions(
      {
        instanceIds: ' i-0abc123def4567890,i-0abc123def4567890 ,i-1234abcd',
        bucket: 'b.example-1',
        prefix: '/tickets/12345/',
        installDocument: true,
        maxConcurrency: '20%',
        maxErrors: '0',
        timeout: '10m',
      },
      now,
    );
    expect(options.target).toEqual({ kind: 'instances', instanceIds: ['i-0abc123def4567890', 'i-1234abcd'] });
    expect(options).toMatchObject({ prefix: 'tickets/12345', documentName: 'EKSNodeDiag-Collect', timeoutMs: 600_000 });
  });

  it.each([
    [{ bucket: 'b-1' }, /exactly one of --instance-ids, --cluster or --tag/],
    [{ cluster: 'a', tag: 'k=v', bucket: 'b-1' }, /exactly one/],
    [{ cluster: 'prod' }, /--bucket is required/],
    [{ cluster: 'prod', bucket: 'My_Bucket' }, /not an S3 bucket name/],
    [{ instanceIds: 'i-0abc,web-1', bucket: 'b-1' }, /not an instance id: i-0abc, web-1/],
    [{ instanceIds: ',', bucket: 'b-1' }, /no instance id given/],
    [
      { instanceIds: Array.from({ length: 51 }, (_, i) => `i-${String(i).padStart(8, '0')}`).join(','), bucket: 'b-1' },
      /at most 50 instance ids .*--cluster or --tag/,
    ],
    [{ cluster: '-bad', bucket: 'b-1' }, /not an EKS cluster name/],
    [{ tag: 'novalue', bucket: 'b-1' }, /expected KEY=VALUE/],
    [{ tag: '=v', bucket: 'b-1' }, /expected KEY=VALUE/],
    [{ cluster: 'p', bucket: 'b-1', prefix: 'a/../b' }, /--prefix/],
    [{ cluster: 'p', bucket: 'b-1', prefix: 'has space' }, /--prefix/],
    [{ cluster: 'p', bucket: 'b-1', prefix: 'quote"d' }, /--prefix/],
    [{ cluster: 'p', bucket: 'b-1', maxConcurrency: '0' }, /--max-concurrency "0"/],
    [{ cluster: 'p', bucket: 'b-1', maxConcurrency: '150%' }, /--max-concurrency/],
    [{ cluster: 'p', bucket: 'b-1', maxErrors: 'some' }, /--max-errors "some"/],
    [{ cluster: 'p', bucket: 'b-1', timeout: '30s' }, /--timeout "30s": expected a duration from 1m to 48h/],
    [{ cluster: 'p', bucket: 'b-1', timeout: 'soon' }, /--timeout/],
    [{ cluster: 'p', bucket: 'b-1', since: '1w' }, /--since "1w"/],
    [{ cluster: 'p', bucket: 'b-1', since: '$(reboot)' }, /--since/],
    [{ cluster: 'p', bucket: 'b-1', document: 'AWS-RunShellScript' }, /belong to AWS/],
    [{ cluster: 'p', bucket: 'b-1', document: 'a b' }, /SSM document names/],
  ])('refuses %j', (raw, problem) => {
    expect(problems(raw).join('\n')).toMatch(problem);
  });

  it('names every problem at once', () => {
    expect(problems({ cluster: 'p', bucket: 'X', since: 'x', maxErrors: 'y' })).toHaveLength(3);
  });

  it('describes the target in words', () => {
    expect(describeTarget({ kind: 'instances', instanceIds: ['i-1'] })).toBe('instance i-1');
    expect(describeTarget({ kind: 'instances', instanceIds: ['i-1', 'i-2'] })).toBe('2 instances');
    expect(describeTarget({ kind: 'cluster', cluster: 'prod' })).toBe('cluster prod');
    expect(describeTarget({ kind: 'tag', key: 'team', value: 'net' })).toBe('tag team=net');
  });
});

describe('timeouts derived from the flags', () => {
  const base = validateDispatchOptions({ cluster: 'p', bucket: 'b-1' }, now);
  it('gives SSM a delivery timeout that covers the MaxConcurrency queue, within SSM limits', () => {
    expect(deliveryTimeoutSeconds({ ...base, maxConcurrency: '25%' })).toBe(4 * 900 + 600);
    expect(
      deliveryTimeoutSeconds({
        ...base,
        target: { kind: 'instances', instanceIds: ['i-1', 'i-2', 'i-3'] },
        maxConcurrency: '1',
      }),
    ).toBe(3 * 900 + 600);
    expect(deliveryTimeoutSeconds({ ...base, maxConcurrency: '1%', timeoutMs: 48 * 3_600_000 })).toBe(172_800);
  });

  it('leaves the agent half the node time for collecting, between 30 s and its 5-minute default', () => {
    expect(collectDeadline(900_000)).toBe('300s');
    expect(collectDeadline(240_000)).toBe('120s');
    expect(collectDeadline(60_000)).toBe('30s');
  });
});

describe('eks-node-diag dispatch --help', () => {
  it('lists every flag, and shows each one in an example', async () => {
    let help = '';
    const program = buildProgram({ out: (text) => (help += text), err: () => {}, isTTY: false });
    await program.parseAsync(['dispatch', '--help'], { from: 'user' }).catch(() => {});
    const examples = help.slice(help.indexOf('Examples:'));
    const command = program.commands.find((c) => c.name() === 'dispatch');
    const flags = (command?.options ?? []).filter((option) => !option.hidden).map((option) => option.long as string);
    expect(flags).toHaveLength(17);
    for (const flag of flags) {
      expect(help, flag).toContain(flag);
      expect(examples, `no example uses ${flag}`).toMatch(
        new RegExp(`\\$ eks-node-diag dispatch [^\\n]*${flag}(\\s|$)|\\n\\s+[^$\\n]*${flag}(\\s|$)`),
      );
    }
    expect(help).not.toContain('--poll-interval');
  });
});
