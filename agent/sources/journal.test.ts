/**
 * Real journal files, made with systemd-journal-remote from journal export text, in `--root` worlds laid out like a
 * node's disk. The tools are required: without them this test fails (in CI and elsewhere) rather than skipping.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalSince, readJournal } from './journal.ts';
import type { SourceContext } from './types.ts';

const JOURNAL_REMOTE = '/lib/systemd/systemd-journal-remote';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MACHINE_ID = '4c4c4544004d3510804ab4c04f4d3232';
const HOUR_US = 3600n * 1_000_000n;

let scratch: string;
const now = BigInt(Date.now()) * 1000n;

interface Entry {
  ageUs: bigint;
  unit: string;
  identifier: string;
  pid: number;
  message: string;
}

function exportText(entries: Entry[]): string {
  return entries
    .map((entry) =>
      [
        `__REALTIME_TIMESTAMP=${now - entry.ageUs}`,
        `_BOOT_ID=${'b'.repeat(32)}`,
        `_MACHINE_ID=${MACHINE_ID}`,
        `_SYSTEMD_UNIT=${entry.unit}`,
        '_HOSTNAME=ip-10-0-1-23.ec2.internal',
        `SYSLOG_IDENTIFIER=${entry.identifier}`,
        `_PID=${entry.pid}`,
        `MESSAGE=${entry.message}`,
        '',
        '',
      ].join('\n'),
    )
    .join('');
}

/** Writes a real journal file at `file` (which must end in `.journal`) holding `entries`. */
async function makeJournal(file: string, entries: Entry[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const remote = spawn(JOURNAL_REMOTE, ['-o', file, '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  remote.stderr.on('data', (chunk: Buffer) => {
    stderr += String(chunk);
  });
  remote.stdin.end(exportText(entries));
  const [code] = await once(remote, 'close');
  if (code !== 0) throw new Error(`systemd-journal-remote failed (${code}): ${stderr}`);
}

const probeFailure: Entry = {
  ageUs: HOUR_US,
  unit: 'kubelet.service',
  identifier: 'kubelet',
  pid: 2154,
  message:
    'E1126 09:14:03.512345    2154 prober.go:104] "Probe failed" probeType="Readiness" pod="kube-system/aws-node-x7k2p" podUID="0d5a" containerName="aws-node" probeResult="failure" output="{\\"level\\":\\"info\\",\\"msg\\":\\"timeout: failed to connect service \\\\\\":50051\\\\\\" within 5s\\"}"',
};
const oldKubelet: Entry = { ...probeFailure, ageUs: 48n * HOUR_US, message: 'I1124 kubelet line from two days ago' };
const containerd: Entry = {
  ageUs: HOUR_US / 2n,
  unit: 'containerd.service',
  identifier: 'containerd',
  pid: 811,
  message: 'time="2026-11-26T09:44:03Z" level=info msg="containerd line"',
};
const volatileKubelet: Entry = { ...probeFailure, ageUs: HOUR_US / 4n, message: 'I1126 kubelet line in /run' };

function context(root: string, overrides: Partial<SourceContext> = {}): SourceContext {
  return {
    root,
    signal: new AbortController().signal,
    timeoutMs: 30_000,
    maxBytes: 1 << 20,
    tail: true,
    env: { PATH },
    ...overrides,
  };
}

async function readAll(unit: string, since: Date | string | undefined, ctx: SourceContext) {
  const source = readJournal(unit, since, ctx);
  return { output: await text(source.stream), outcome: await source.done };
}

let persistentRoot: string;
let volatileRoot: string;
let bothRoot: string;
let linkedRoot: string;
let busyRoot: string;

beforeAll(async () => {
  for (const tool of [JOURNAL_REMOTE, '/usr/bin/journalctl']) {
    if (!existsSync(tool)) {
      throw new Error(
        `${tool} is missing: apt-get install -y systemd systemd-journal-remote (journal tests need real journals)`,
      );
    }
  }
  scratch = await mkdtemp(join(tmpdir(), 'journal-test-'));
  persistentRoot = join(scratch, 'persistent');
  await makeJournal(join(persistentRoot, 'var/log/journal', MACHINE_ID, 'system.journal'), [
    oldKubelet,
    probeFailure,
    containerd,
  ]);
  volatileRoot = join(scratch, 'volatile');
  await makeJournal(join(volatileRoot, 'run/log/journal', MACHINE_ID, 'system.journal'), [volatileKubelet]);
  bothRoot = join(scratch, 'both');
  await makeJournal(join(bothRoot, 'var/log/journal', MACHINE_ID, 'system.journal'), [probeFailure]);
  await makeJournal(join(bothRoot, 'run/log/journal', MACHINE_ID, 'system.journal'), [volatileKubelet]);
  // A node whose /var/log is a symlink into its data volume: the link is followed inside the root.
  linkedRoot = join(scratch, 'linked');
  await makeJournal(join(linkedRoot, 'data/log/journal', MACHINE_ID, 'system.journal'), [probeFailure]);
  await mkdir(join(linkedRoot, 'var'), { recursive: true });
  await symlink('/data/log', join(linkedRoot, 'var/log'));
  busyRoot = join(scratch, 'busy');
  const busy = Array.from({ length: 20_000 }, (_, n) => ({
    ...probeFailure,
    ageUs: HOUR_US - BigInt(n) * 1000n,
    message: `${probeFailure.message} #${n}`,
  }));
  await makeJournal(join(busyRoot, 'var/log/journal', MACHINE_ID, 'system.journal'), busy);
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d{4} ip-10-0-1-23\.ec2\.internal kubelet\[2154\]: /;

describe('readJournal', () => {
  it("reads one unit's entries since the window start, in short-iso-precise", async () => {
    const { output, outcome } = await readAll('kubelet', '24h', context(persistentRoot));
    expect(outcome).toEqual({ status: 'ok', exitCode: 0 });
    const lines = output.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(LINE);
    expect(lines[0]).toContain('"Probe failed" probeType="Readiness" pod="kube-system/aws-node-x7k2p"');
    expect(output).not.toContain('containerd line');
    expect(output).not.toContain('two days ago');
  });

  it('takes the window start as a Date too', async () => {
    const { output } = await readAll('kubelet', new Date(Date.now() - 2 * 3600_000), context(persistentRoot));
    expect(output).toContain('Probe failed');
    expect(output).not.toContain('two days ago');
  });

  it('reads the whole journal of the unit without a window', async () => {
    const { output } = await readAll('kubelet.service', undefined, context(persistentRoot));
    expect(output).toContain('two days ago');
    expect(output.indexOf('two days ago')).toBeLessThan(output.indexOf('Probe failed'));
  });

  it('reads the volatile journal under /run when that is all there is', async () => {
    const { output } = await readAll('kubelet', '-24h', context(volatileRoot));
    expect(output).toMatch(/kubelet\[2154\]: I1126 kubelet line in \/run\n$/);
  });

  it('reads both the persistent and the volatile journal when both exist', async () => {
    const { output, outcome } = await readAll('kubelet', '24h', context(bothRoot));
    expect(outcome.status).toBe('ok');
    expect(output).toContain('Probe failed');
    expect(output).toContain('kubelet line in /run');
  });

  it('follows a symlinked /var/log inside the root', async () => {
    const { output } = await readAll('kubelet', '24h', context(linkedRoot));
    expect(output).toContain('Probe failed');
  });

  it('hands over a long journal whole, and stops journalctl when the reader stops', async () => {
    const { output } = await readAll('kubelet', '24h', context(busyRoot));
    const lines = output.trim().split('\n');
    expect(lines).toHaveLength(20_000);
    expect(lines.at(-1)).toMatch(/ #19999$/);
    const source = readJournal('kubelet', '24h', context(busyRoot));
    await new Promise((resolve) => source.stream.once('data', resolve));
    source.stream.destroy();
    expect(await source.done).toMatchObject({ status: 'ok', reason: 'output no longer read; command stopped' });
  });

  it('records a root without journals as skipped: no journal', async () => {
    const empty = join(scratch, 'empty');
    await mkdir(join(empty, 'var/log'), { recursive: true });
    expect(await readAll('kubelet', '24h', context(empty))).toEqual({
      output: '',
      outcome: { status: 'skipped', reason: 'no journal' },
    });
  });

  it('records a node without journalctl as skipped: not installed', async () => {
    expect((await readAll('kubelet', '24h', context(persistentRoot, { env: { PATH: scratch } }))).outcome).toEqual({
      status: 'skipped',
      reason: 'not installed',
    });
  });

  it('records a window journalctl cannot parse as an error with its message', async () => {
    const { outcome } = await readAll('kubelet', 'the day before', context(persistentRoot));
    expect(outcome).toMatchObject({ status: 'error', exitCode: 1 });
    expect(outcome.reason).toMatch(/^exit code 1: Failed to parse timestamp: the day before/);
  });
});

describe('journalSince', () => {
  it.each([
    ['24h', '-24h'],
    ['30min', '-30min'],
    ['-2h', '-2h'],
    ['2026-11-25 00:00:00', '2026-11-25 00:00:00'],
    ['yesterday', 'yesterday'],
  ])('passes %s to journalctl as %s', (since, expected) => {
    expect(journalSince(since)).toBe(expected);
  });

  it('passes a Date as epoch seconds', () => {
    expect(journalSince(new Date('2026-11-25T00:00:00.900Z'))).toBe('@1795564800');
  });
});
