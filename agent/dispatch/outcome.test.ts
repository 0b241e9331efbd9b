import { describe, expect, it } from 'vitest';
import { formatCounts, nodeLine, outcomeTable, ProgressDisplay, shortDuration, statusCounts } from './display.ts';
import { classifyInvocation, type InvocationView, type NodeResultLine, parseResultLine } from './outcome.ts';

const line = (fields: Partial<NodeResultLine>) =>
  JSON.stringify({ eksNodeDiag: 'node-result@1', instanceId: 'i-1', arch: 'x64', exitCode: 0, seconds: 3, ...fields });

const view = (fields: Partial<InvocationView>): InvocationView => ({
  instanceId: 'i-1',
  status: 'Success',
  statusDetails: 'Success',
  ...fields,
});

describe('parseResultLine', () => {
  it('finds the line among other output, in the plugin output format SSM shows', () => {
    const output = `${line({ status: 'uploaded', key: 'p/c/i-1.tar.gz', bytes: 10 })}\n\n----------ERROR-------\neks-node-diag: downloading`;
    expect(parseResultLine(output)).toMatchObject({ status: 'uploaded', key: 'p/c/i-1.tar.gz', bytes: 10 });
    expect(parseResultLine(`noise\n${line({ status: 'failed' })}\n`)).toMatchObject({ status: 'failed' });
  });

  it.each([
    ['nothing', undefined],
    ['a line cut off by truncation', `${line({ status: 'uploaded' }).slice(0, 40)}\n---Output truncated---`],
    ['another JSON line', '{"eksNodeDiag":"other@2","status":"uploaded"}'],
    ['an unknown status', line({ status: 'exploded' as NodeResultLine['status'] })],
    ['a line without exit code', '{"eksNodeDiag":"node-result@1","instanceId":"i-1","status":"uploaded"}'],
    ['not JSON at all', '{"eksNodeDiag": nope'],
  ])('returns undefined for %s', (_name, output) => {
    expect(parseResultLine(output)).toBeUndefined();
  });
});

describe('classifyInvocation', () => {
  it.each([
    [view({ status: 'Failed', statusDetails: 'Undeliverable', responseCode: -1 }), undefined, 'undeliverable'],
    [view({ status: 'Failed', statusDetails: 'Undeliverable' }), undefined, 'undeliverable'],
    [view({ status: 'TimedOut', statusDetails: 'DeliveryTimedOut' }), undefined, 'timed-out'],
    [view({ status: 'TimedOut', statusDetails: 'Delivery Timed Out' }), undefined, 'timed-out'],
    [view({ status: 'TimedOut', statusDetails: 'ExecutionTimedOut' }), undefined, 'timed-out'],
    [view({ status: 'Cancelled', statusDetails: 'Terminated' }), undefined, 'not-run'],
    [view({ status: 'Cancelled', statusDetails: 'Cancelled' }), undefined, 'cancelled'],
    [view({ status: 'Failed', statusDetails: 'Access Denied' }), undefined, 'failed'],
    [view({}), { status: 'uploaded' }, 'ok'],
    [
      view({ status: 'Failed', statusDetails: 'Failed', responseCode: 42 }),
      { status: 'agent-unsupported' },
      'agent-unsupported',
    ],
    [view({ status: 'Failed', statusDetails: 'Failed', responseCode: 42 }), undefined, 'agent-unsupported'],
    [
      view({ status: 'Failed', statusDetails: 'Failed', responseCode: 48 }),
      { status: 'upload-failed' },
      'upload-failed',
    ],
    [view({ status: 'Failed', statusDetails: 'Failed', responseCode: 45 }), { status: 'checksum-mismatch' }, 'failed'],
    [view({}), undefined, 'failed'],
    [view({ status: 'Failed', statusDetails: 'Failed', responseCode: 2 }), undefined, 'failed'],
  ])('%j with result %j is %s', (invocation, result, status) => {
    const parsed = result ? (JSON.parse(line(result as Partial<NodeResultLine>)) as NodeResultLine) : undefined;
    expect(classifyInvocation(invocation, parsed).status).toBe(status);
  });

  it('says why, and keeps SSM status, response code and duration', () => {
    const outcome = classifyInvocation(
      view({
        status: 'Failed',
        statusDetails: 'Failed',
        responseCode: 127,
        output: '\n----------ERROR-------\nsh: 1: curl: not found\nsh: 2: wget: not found',
        startedAt: new Date('2026-11-26T10:00:00Z'),
        finishedAt: new Date('2026-11-26T10:01:12Z'),
      }),
      undefined,
    );
    expect(outcome).toMatchObject({
      status: 'failed',
      ssm: 'Failed/Failed',
      responseCode: 127,
      durationMs: 72_000,
      error: 'exit 127: sh: 1: curl: not found / sh: 2: wget: not found',
    });
    const upload = classifyInvocation(
      view({ status: 'Failed', statusDetails: 'Failed', responseCode: 48 }),
      JSON.parse(line({ status: 'upload-failed', error: 'S3 said AccessDenied' })),
    );
    expect(upload.error).toBe('S3 said AccessDenied');
  });
});

describe('display', () => {
  it('formats durations short', () => {
    expect([undefined, -1, 400, 45_000, 72_000, 7_380_000].map((ms) => shortDuration(ms))).toEqual([
      '-',
      '-',
      '0s',
      '45s',
      '1m12s',
      '2h03m',
    ]);
  });

  it('counts by status with Undeliverable apart from Failed', () => {
    const counts = statusCounts([
      view({ status: 'InProgress', statusDetails: 'InProgress' }),
      view({ status: 'Failed', statusDetails: 'Undeliverable' }),
      view({ status: 'Failed', statusDetails: 'Failed' }),
      view({}),
      view({ status: 'Pending', statusDetails: 'Pending' }),
    ]);
    expect([...counts]).toEqual([
      ['Pending', 1],
      ['InProgress', 1],
      ['Success', 1],
      ['Failed', 1],
      ['Undeliverable', 1],
    ]);
    expect(formatCounts(counts, 10)).toBe(
      '3/10 done · 1 Pending · 1 InProgress · 1 Success · 1 Failed · 1 Undeliverable',
    );
  });

  it('ends with a table of every node, failures first, aligned', () => {
    const table = outcomeTable([
      { instanceId: 'i-0aaa', status: 'ok', ssm: 'Success/Success', durationMs: 72_000, bundleBytes: 3_500_000 },
      { instanceId: 'i-0bbb', status: 'undeliverable', ssm: 'Failed/Undeliverable', error: 'node offline' },
      { instanceId: 'i-0ccc', status: 'upload-failed', ssm: 'Failed/Failed', durationMs: 5000, error: 'S3\nsaid no' },
    ]);
    expect(table).toBe(
      [
        'NODE    STATUS         DURATION   BUNDLE  ERROR',
        'i-0bbb  undeliverable         -        -  node offline',
        'i-0ccc  upload-failed        5s        -  S3 said no',
        'i-0aaa  ok                1m12s  3.3 MiB',
        '',
      ].join('\n'),
    );
    expect(nodeLine({ instanceId: 'i-0aaa', status: 'ok', ssm: 'x', durationMs: 1000, bundleBytes: 2048 })).toMatch(
      /^i-0aaa\s+ok\s+1s {2}2\.0 KiB$/,
    );
  });
});

describe('ProgressDisplay', () => {
  const outcome = { instanceId: 'i-0aaa', status: 'ok' as const, ssm: 'Success/Success', durationMs: 2000 };

  it('on a terminal keeps one status line at the bottom and prints finished nodes above it', () => {
    let written = '';
    let clock = 0;
    const display = new ProgressDisplay({ write: (text) => (written += text), isTTY: true, now: () => clock });
    display.counts(new Map([['InProgress', 2]]), 2);
    clock = 61_000;
    display.finished(outcome);
    display.close();
    expect(written).toBe(
      '\r\u001b[2K[0s] 0/2 done · 2 InProgress' +
        '\r\u001b[2K' +
        `${nodeLine(outcome)}\n` +
        '\r\u001b[2K[1m01s] 0/2 done · 2 InProgress' +
        '\r\u001b[2K',
    );
  });

  it('elsewhere prints plain lines, and the counts at most every 30 s', () => {
    let written = '';
    let clock = 0;
    const display = new ProgressDisplay({ write: (text) => (written += text), isTTY: false, now: () => clock });
    clock = 30_000;
    display.counts(new Map([['InProgress', 2]]), 2);
    clock = 40_000;
    display.counts(
      new Map([
        ['Success', 1],
        ['InProgress', 1],
      ]),
      2,
    );
    display.finished(outcome);
    clock = 61_000;
    display.counts(new Map([['Success', 2]]), 2);
    display.close();
    expect(written).toBe(`progress: 0/2 done · 2 InProgress\n${nodeLine(outcome)}\nprogress: 2/2 done · 2 Success\n`);
  });
});
