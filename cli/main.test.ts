/**
 * The command line as users run it: the esbuild bundle (built by `pretest`) in a child process, with real files.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tarGzOf } from '../test/support/archives.ts';

const cli = resolve('dist/eks-node-diag.cjs');
let dir: string;
let dropBundle: string;
let healthyBundle: string;

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: dir });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  if (!existsSync(cli))
    throw new Error('dist/eks-node-diag.cjs is missing: `npm test` builds it in pretest (npm run build)');
  dir = await mkdtemp(join(tmpdir(), 'cli-'));
  dropBundle = join(dir, 'drop.tar.gz');
  healthyBundle = join(dir, 'healthy.tar.gz');
  const save = (policy: string) =>
    `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ${policy} [10:600]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n`;
  await writeFile(dropBundle, tarGzOf([{ name: './networking/iptables-save.txt', content: save('DROP') }]));
  await writeFile(healthyBundle, tarGzOf([{ name: './networking/iptables-save.txt', content: save('ACCEPT') }]));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('eks-node-diag CLI', () => {
  it('shows usage with examples', () => {
    const top = run('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/analyze/);
    expect(top.stdout).toMatch(/rules/);
    const analyze = run('analyze', '--help');
    expect(analyze.code).toBe(0);
    expect(analyze.stdout).toMatch(/Examples:/);
    expect(analyze.stdout).toMatch(/--fail-on <severity>/);
    expect(analyze.stdout).toMatch(/Exit codes/);
  });

  it('prints its version', () => {
    const result = run('--version');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exits 2 on usage errors', () => {
    expect(run('analyze').code).toBe(2);
    expect(run('analyze', dropBundle, '--bogus').code).toBe(2);
    const badSeverity = run('analyze', dropBundle, '--fail-on', 'sometimes');
    expect(badSeverity.code).toBe(2);
    expect(badSeverity.stderr).toMatch(/warning, critical/);
    expect(run('frobnicate').code).toBe(2);
  });

  it('exits 1 when an input cannot be read, still reporting the others', async () => {
    const junk = join(dir, 'junk.tar.gz');
    await writeFile(junk, 'not an archive at all\n');
    const result = run('analyze', join(dir, 'missing.tar.gz'), junk, dropBundle, '--json', join(dir, 'some.json'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot analyze .*missing\.tar\.gz: .*ENOENT/);
    expect(result.stderr).toMatch(/cannot analyze .*junk\.tar\.gz: .*neither gzip nor tar/);
    const json = JSON.parse(await readFile(join(dir, 'some.json'), 'utf8'));
    expect(json.schema).toBe('eks-node-diag/report@1');
    expect(json.bundle.source).toBe('drop.tar.gz');
  });

  it('writes JSON to stdout with --json - and keeps the human summary on stderr', () => {
    const result = run('analyze', dropBundle, '--json', '-');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.schema).toBe('eks-node-diag/report@1');
    expect(report.tool.name).toBe('eks-node-diag');
    const forward = report.rules.find((rule: { id: string }) => rule.id === 'forward-policy-drop');
    expect(forward).toMatchObject({ verdict: 'fail', severity: 'critical' });
    expect(forward.evidence[0]).toEqual({
      path: 'networking/iptables-save.txt',
      line: 3,
      text: ':FORWARD DROP [10:600]',
      highlight: true,
    });
    expect(result.stderr).toMatch(/forward-policy-drop/);
  });

  it('wraps several reports in eks-node-diag/reports@1', () => {
    const result = run('analyze', dropBundle, healthyBundle, '--json', '-');
    const document = JSON.parse(result.stdout);
    expect(document.schema).toBe('eks-node-diag/reports@1');
    expect(document.reports.map((report: { bundle: { source: string } }) => report.bundle.source)).toEqual([
      'drop.tar.gz',
      'healthy.tar.gz',
    ]);
  });

  it('exits 3 when a finding reaches --fail-on, 0 otherwise', () => {
    expect(run('analyze', dropBundle, '--json', '-', '--fail-on', 'critical').code).toBe(3);
    expect(run('analyze', healthyBundle, '--json', '-', '--fail-on', 'critical').code).toBe(0);
    // A bundle with nothing but iptables leaves most rules blind: evidence-coverage warns, so --fail-on warning trips.
    expect(run('analyze', healthyBundle, '--json', '-', '--fail-on', 'warning').code).toBe(3);
  });

  it('without output flags, prints a summary and writes the HTML report beside the bundle', async () => {
    const result = run('analyze', dropBundle);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${dropBundle}.report.html`);
    const html = await readFile(`${dropBundle}.report.html`, 'utf8');
    expect(html).toMatch(/Content-Security-Policy/);
    expect(html).toContain(':FORWARD DROP [10:600]');
  });

  it('writes Markdown for a ticket comment', async () => {
    const md = join(dir, 'comment.md');
    expect(run('analyze', dropBundle, '--md', md).code).toBe(0);
    const text = await readFile(md, 'utf8');
    expect(text).toMatch(/forward-policy-drop/);
    expect(text).toContain(':FORWARD DROP [10:600]');
  });

  it('lists the rule catalog', () => {
    const text = run('rules');
    expect(text.stdout).toMatch(/forward-policy-drop/);
    const json = JSON.parse(run('rules', '--json').stdout);
    expect(json.map((rule: { id: string }) => rule.id)).toEqual(
      expect.arrayContaining(['cpu-starvation', 'forward-policy-drop', 'kubelet-probe-failures']),
    );
    expect(json.find((rule: { id: string }) => rule.id === 'forward-policy-drop').needs).toEqual([
      'networking/iptables-save.txt | networking/iptables-filter.txt | networking/iptables.txt',
    ]);
  });
});
