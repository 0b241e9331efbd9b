/**
 * Bad input gets a clear, named error and loses nothing: every damaged or hostile archive below still yields a
 * report in which the good members were analyzed. Archives are built byte by byte (test/support/archives.ts).
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeBundle } from '../analyzer/engine/analyze-bundle.ts';
import type { Report } from '../analyzer/report/model.ts';
import { rules } from '../analyzer/rules/index.ts';
import { type MemberSpec, tarGzOf, tarMember, tarOf } from './support/archives.ts';

const dropSave = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [2417:145025]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';
const probeLine = (n: number) =>
  `Nov 20 08:41:${String(n % 60).padStart(2, '0')} ip-10-0-1-23 kubelet[3412]: I1120 08:41:07.123456    3412 prober.go:107] "Probe failed" probeType="Liveness" pod="kube-system/aws-node-7xk2p" podUID="0b5a" containerName="aws-node" probeResult="failure" output="timeout: failed to connect service \\":50051\\" within 5s"\n`;
const noiseLine = (n: number) =>
  `Nov 20 08:${String(Math.floor(n / 60) % 60).padStart(2, '0')}:${String(n % 60).padStart(2, '0')} ip-10-0-1-23 kubelet[3412]: I1120 08:00:00.000001    3412 kubelet_getters.go:187] "Pod status updated" pod="default/web-${n}" status="Running"\n`;

/** A stock-layout bundle: the FORWARD DROP save first, then a long kubelet journal with probe failures. */
function stockMembers(): MemberSpec[] {
  let journal = '';
  for (let i = 0; i < 4000; i++) journal += i % 500 === 7 ? probeLine(i) : noiseLine(i);
  return [
    { name: './', type: 'Directory' },
    { name: './networking/', type: 'Directory' },
    { name: './networking/iptables-save.txt', content: dropSave },
    { name: './system/instance-id.txt', content: 'i-0abc123def4567890\n' },
    { name: './kubelet/kubelet.log', content: journal },
  ];
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bundle-damage-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function analyzeBytes(name: string, bytes: Buffer): Promise<Report> {
  const file = join(dir, name);
  await writeFile(file, bytes);
  return analyzeBundle(file, { rules });
}

const verdict = (report: Report, id: string) => report.rules.find((rule) => rule.id === id)?.verdict;
const codes = (report: Report) => report.bundle.errors.map((error) => error.code);

describe('intact bundles', () => {
  it('reads a stock .tar.gz with a ./ prefix and maps it onto canonical paths', async () => {
    const report = await analyzeBytes('stock.tar.gz', tarGzOf(stockMembers()));
    expect(report.bundle.errors).toEqual([]);
    expect(report.bundle.layout).toBe('eks-log-collector');
    expect(report.bundle.node.instanceId).toBe('i-0abc123def4567890');
    expect(verdict(report, 'forward-policy-drop')).toBe('fail');
    expect(verdict(report, 'kubelet-probe-failures')).toBe('fail');
    expect(report.bundle.inventory.find((e) => e.path === 'kubelet/kubelet.log')).toMatchObject({
      lines: 4000,
      state: 'read',
    });
  });

  it('reads a plain .tar and a re-packed bundle with a top folder', async () => {
    const members = stockMembers().map((m) => ({
      ...m,
      name: m.name.replace(/^\.\//, 'eks_i-0abc_2026-11-20_0912-UTC_0.7.9/'),
    }));
    const report = await analyzeBytes('repacked.tar', tarOf(members));
    expect(report.bundle.errors).toEqual([]);
    expect(report.bundle.inventory.map((e) => e.path)).toContain('networking/iptables-save.txt');
    expect(verdict(report, 'forward-policy-drop')).toBe('fail');
  });

  it('reads the legacy aws-cni-support.tar.gz layout', async () => {
    const report = await analyzeBytes(
      'aws-cni-support.tar.gz',
      tarGzOf([
        { name: 'var/log/aws-routed-eni/iptables-save.out', content: dropSave },
        { name: 'var/log/aws-routed-eni/messages', content: probeLine(1) },
        {
          name: 'var/log/aws-routed-eni/ipamd.log',
          content:
            '{"level":"info","ts":"2019-11-20T08:00:00Z","caller":"main.go:1","msg":"Starting L-IPAMD v1.5.5  ..."}\n',
        },
      ]),
    );
    expect(report.bundle.layout).toBe('aws-cni-support-legacy');
    expect(report.bundle.node.vpcCniVersion).toBe('v1.5.5');
    expect(verdict(report, 'forward-policy-drop')).toBe('fail');
    expect(verdict(report, 'kubelet-probe-failures')).toBe('fail');
  });

  it('reads rotated, gzip-compressed CNI logs inside the archive', async () => {
    const rotated = gzipSync(
      '{"level":"info","ts":"2026-11-19T08:00:00Z","caller":"main.go:1","msg":"Starting L-IPAMD v1.19.2"}\n',
    );
    const report = await analyzeBytes(
      'rotated.tar.gz',
      tarGzOf([{ name: './var_log/aws-routed-eni/ipamd-2026-11-19T08-00-00.000.log.gz', content: rotated }]),
    );
    expect(report.bundle.errors).toEqual([]);
    expect(report.bundle.node.vpcCniVersion).toBe('v1.19.2');
  });
});

describe('damaged archives keep every good member', () => {
  it('truncated gzip: named error, earlier members analyzed, the cut member marked', async () => {
    const whole = tarGzOf(stockMembers());
    const report = await analyzeBytes('truncated.tar.gz', whole.subarray(0, Math.floor(whole.length * 0.6)));
    expect(codes(report)).toContain('ENDIAG_ARCHIVE_TRUNCATED');
    const error = report.bundle.errors.find((e) => e.code === 'ENDIAG_ARCHIVE_TRUNCATED');
    expect(error?.message).toMatch(/gzip stream ends early/);
    expect(error?.member).toBe('./kubelet/kubelet.log');
    expect(verdict(report, 'forward-policy-drop')).toBe('fail');
    expect(report.bundle.inventory.find((e) => e.path === 'kubelet/kubelet.log')?.state).toBe('truncated');
    // Failures seen before the cut stand; a pass could not have been given.
    expect(verdict(report, 'kubelet-probe-failures')).toBe('fail');
  });

  it('truncated journal with no failures before the cut: not evaluated, never a pass', async () => {
    let journal = '';
    for (let i = 0; i < 6000; i++) journal += noiseLine(i);
    const whole = tarOf([{ name: './kubelet/kubelet.log', content: journal }]);
    const report = await analyzeBytes('cut.tar', whole.subarray(0, 300_000));
    expect(codes(report)).toContain('ENDIAG_ARCHIVE_TRUNCATED');
    const probes = report.rules.find((rule) => rule.id === 'kubelet-probe-failures');
    expect(probes?.verdict).toBe('not-evaluated');
    expect(probes?.reason).toMatch(/kubelet\/kubelet\.log was cut short/);
  });

  it('corrupt gzip data: named error, members before the damage analyzed', async () => {
    const members = stockMembers();
    const whole = tarGzOf(members);
    const damaged = Buffer.from(whole);
    damaged.fill(0x5a, Math.floor(whole.length * 0.7), Math.floor(whole.length * 0.7) + 64);
    const report = await analyzeBytes('corrupt.tar.gz', damaged);
    expect(codes(report)).toContain('ENDIAG_GZIP_CORRUPT');
    expect(verdict(report, 'forward-policy-drop')).toBe('fail');
  });

  it('junk between members: named error, members on both sides analyzed', async () => {
    const junk = Buffer.alloc(1024, 0x41);
    const report = await analyzeBytes(
      'junk.tar',
      tarOf([
        tarMember({ name: './networking/iptables-save.txt', content: dropSave }),
        junk,
        tarMember({ name: './kubelet/kubelet.log', content: probeLine(3) }),
      ]),
    );
    expect(codes(report)).toContain('ENDIAG_TAR_CORRUPT');
    expect(verdict(report, 'forward-policy-drop')).toBe('fail');
    expect(verdict(report, 'kubelet-probe-failures')).toBe('fail');
  });

  it('a member whose header declares far more than the archive holds is truncated, not awaited', async () => {
    const header = tarMember({ name: './var_log/messages', content: 'x'.repeat(100), size: 50 * 1024 * 1024 * 1024 });
    const report = await analyzeBytes(
      'huge.tar',
      Buffer.concat([tarMember({ name: './networking/iptables-save.txt', content: dropSave }), header]),
    );
    expect(codes(report)).toContain('ENDIAG_ARCHIVE_TRUNCATED');
    expect(verdict(report, 'forward-policy-drop')).toBe('fail');
  });
});

describe('hostile members are refused by name', () => {
  it('names that climb out or are absolute, links and device nodes', async () => {
    const report = await analyzeBytes(
      'hostile.tar.gz',
      tarGzOf([
        { name: '../../etc/cron.d/evil', content: 'x' },
        { name: '/etc/shadow', content: 'root:x' },
        { name: './kubelet/../../outside', content: 'x' },
        { name: './networking/iptables-save.txt', type: 'SymbolicLink', linkpath: '/etc/passwd' },
        { name: './system/top.txt', type: 'Link', linkpath: './system/instance-id.txt' },
        { name: './dev-null', type: 'CharacterDevice' },
        { name: './fifo', type: 'FIFO' },
        { name: './networking/iptables-filter.txt', content: 'Chain FORWARD (policy DROP 0 packets, 0 bytes)\n' },
      ]),
    );
    const unsafe = report.bundle.errors.filter((e) => e.code === 'ENDIAG_UNSAFE_MEMBER_NAME').map((e) => e.member);
    expect(unsafe).toEqual(['../../etc/cron.d/evil', '/etc/shadow', './kubelet/../../outside']);
    expect(report.bundle.errors.filter((e) => e.code === 'ENDIAG_LINK_MEMBER')).toHaveLength(2);
    expect(report.bundle.errors.filter((e) => e.code === 'ENDIAG_SPECIAL_MEMBER')).toHaveLength(2);
    expect(report.bundle.inventory.map((e) => e.path)).not.toContain('etc/shadow');
    expect(verdict(report, 'forward-policy-drop')).toBe('fail');
  });

  it('binary junk where text belongs, and megabyte-long lines', async () => {
    const binary = Buffer.concat([Buffer.from('\x7fELF'), Buffer.alloc(4096, 0), Buffer.from(probeLine(1))]);
    const longLine = `${'A'.repeat(3 * 1024 * 1024)} Probe failed\n`;
    const report = await analyzeBytes(
      'junk-members.tar.gz',
      tarGzOf([
        { name: './networking/iptables-save.txt', content: binary },
        { name: './kubelet/kubelet.log', content: `${longLine}${probeLine(2)}` },
      ]),
    );
    expect(report.bundle.errors.find((e) => e.code === 'ENDIAG_BINARY_CONTENT')?.member).toBe(
      'networking/iptables-save.txt',
    );
    expect(report.bundle.errors.find((e) => e.code === 'ENDIAG_LONG_LINES')?.member).toBe('kubelet/kubelet.log');
    const forward = report.rules.find((rule) => rule.id === 'forward-policy-drop');
    expect(forward?.verdict).toBe('not-evaluated');
    expect(forward?.reason).toMatch(/binary data/);
    const probes = report.rules.find((rule) => rule.id === 'kubelet-probe-failures');
    expect(probes?.verdict).toBe('fail');
    expect(probes?.evidence[0]?.line).toBe(2);
  });

  it('a damaged rotated log inside the archive keeps the lines before the damage', async () => {
    const rotated = gzipSync(`${probeLine(1)}${'x'.repeat(100_000)}\n`);
    const cut = rotated.subarray(0, rotated.length - 20);
    const report = await analyzeBytes(
      'nested.tar.gz',
      tarGzOf([{ name: './var_log/aws-routed-eni/ipamd-2026-11-19T08-00-00.000.log.gz', content: cut }]),
    );
    expect(codes(report)).toContain('ENDIAG_NESTED_GZIP_CORRUPT');
  });
});

describe('inputs that are not bundles', () => {
  it('random bytes and an empty file are reported as not an archive', async () => {
    const junk = await analyzeBytes('junk.bin', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
    expect(codes(junk)).toEqual(['ENDIAG_NOT_AN_ARCHIVE']);
    const empty = await analyzeBytes('empty.tar.gz', Buffer.alloc(0));
    expect(codes(empty)).toEqual(['ENDIAG_NOT_AN_ARCHIVE']);
  });

  it('gzip that does not hold a tar', async () => {
    const report = await analyzeBytes('notar.gz', gzipSync('just some text\n'.repeat(100)));
    expect(codes(report)).toContain('ENDIAG_NOT_AN_ARCHIVE');
  });

  it('a missing input is an unreadable input', async () => {
    await expect(analyzeBundle(join(dir, 'nope.tar.gz'), { rules })).rejects.toThrow(/cannot read it \(ENOENT\)/);
  });
});

describe('extracted folders', () => {
  it('reads a folder, refusing symbolic links', async () => {
    const root = join(dir, 'eks_i-0abc');
    await mkdir(join(root, 'networking'), { recursive: true });
    await writeFile(join(root, 'networking', 'iptables-save.txt'), dropSave);
    await symlink('/etc/passwd', join(root, 'networking', 'iptables-filter.txt'));
    const report = await analyzeBundle(root, { rules });
    expect(report.bundle.errors.map((e) => [e.code, e.member])).toEqual([
      ['ENDIAG_LINK_MEMBER', 'networking/iptables-filter.txt'],
    ]);
    expect(verdict(report, 'forward-policy-drop')).toBe('fail');
  });
});

describe('streams and holes', () => {
  it('reads a bundle from a pipe', async () => {
    const { spawnSync } = await import('node:child_process');
    const file = join(dir, 'piped.tar.gz');
    await writeFile(file, tarGzOf(stockMembers()));
    const cli = join(import.meta.dirname, '..', 'dist', 'eks-node-diag.cjs');
    const result = spawnSync('sh', ['-c', `cat "${file}" | "${process.execPath}" "${cli}" analyze - --json -`], {
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.bundle.source).toBe('stdin');
    expect(verdict(report, 'forward-policy-drop')).toBe('fail');
  });

  it('skips the NUL hole a copytruncate leaves at the start of a log', async () => {
    const holed = Buffer.concat([Buffer.alloc(200_000, 0), Buffer.from(probeLine(5))]);
    const report = await analyzeBytes('holed.tar.gz', tarGzOf([{ name: './kubelet/kubelet.log', content: holed }]));
    expect(codes(report)).not.toContain('ENDIAG_BINARY_CONTENT');
    expect(verdict(report, 'kubelet-probe-failures')).toBe('fail');
  });
});
