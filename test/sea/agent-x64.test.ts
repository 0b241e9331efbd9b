/**
 * The x64 single executable runs the same CLI as `node dist/eks-node-diag.cjs`: version, analysis of a sample bundle
 * (verdicts identical to the library's), an offline collection of a node root that then analyzes, and a live
 * collection on a simulated node (real iptables, introspection endpoints and journals) whose verdicts are the declared
 * ones. The binary is built once per test run when dist/ holds none newer than its sources.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeBundle } from '../../analyzer/engine/analyze-bundle.ts';
import { TOOL_VERSION } from '../../analyzer/engine/version.ts';
import type { Report } from '../../analyzer/report/model.ts';
import { rules } from '../../analyzer/rules/index.ts';
import { simulationAvailable } from '../sim/prerequisites.ts';
import { createNodeWorld, type NodeWorld } from '../sim/world.ts';
import { bundleMembers, readManifest } from '../support/bundle-files.ts';
import { ensureAgentBinaries, PROJECT_ROOT, readStartupPath, runProgram } from './agent-binaries.ts';
import { PLANTED_SECRET, writeNodeRoot } from './node-root.ts';
import { singleExecutableAvailable } from './prerequisites.ts';

const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const ELF_MACHINE_X86_64 = 0x3e;
describe.skipIf(!singleExecutableAvailable('x64'))('the x64 single executable', () => {
  let binary: string;
  let dir: string;
  beforeAll(async () => {
    binary = (await ensureAgentBinaries()).x64;
    dir = await mkdtemp(join(tmpdir(), 'sea-x64-'));
  }, 900_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is an x86-64 ELF with the blob injected, and its .sha256 checks out with sha256sum', async () => {
    const bytes = await readFile(binary);
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(bytes.readUInt16LE(18)).toBe(ELF_MACHINE_X86_64);
    expect(bytes.includes(`${SEA_FUSE}:1`)).toBe(true);
    expect(bytes.includes(`${SEA_FUSE}:0`)).toBe(false);
    const check = await runProgram('sha256sum', ['-c', 'eks-node-diag-agent-linux-x64.sha256'], {
      cwd: join(PROJECT_ROOT, 'dist'),
    });
    expect(check).toEqual({ exitCode: 0, stdout: 'eks-node-diag-agent-linux-x64: OK\n', stderr: '' });
  });

  it('prints the version and nothing else (no experimental-SEA warning)', async () => {
    expect(await runProgram(binary, ['--version'])).toEqual({ exitCode: 0, stdout: `${TOOL_VERSION}\n`, stderr: '' });
  });

  it('keeps heavy modules out of the start-up path', async () => {
    const startup = await readStartupPath();
    expect(startup.heavyAtStartup).toEqual([]);
    expect(Object.keys(startup.eager.packages)).not.toContain('handlebars');
    // Argument parsing (commander) and the CLI itself; everything else arrives through import() after parsing.
    expect(startup.eager.bytes).toBeLessThan(200 * 1024);
    expect(startup.lazy.bytes).toBeGreaterThan(startup.eager.bytes);
  });

  it('answers usage errors with exit 2, as the CLI does', async () => {
    const result = await runProgram(binary, ['analyze']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("missing required argument 'bundle'");
  });

  it('analyzes the forward-drop sample: FORWARD DROP fails, and every verdict matches the library', async () => {
    const sample = join(PROJECT_ROOT, 'samples', 'bundles', 'forward-drop-custom-ami.tar.gz');
    const html = join(dir, 'forward-drop.report.html');
    const result = await runProgram(binary, ['analyze', sample, '--json', '-', '--html', html]);
    expect(result.exitCode, result.stderr).toBe(0);
    // The templates and stylesheet travel inside the executable; nothing is read from beside it.
    const page = await readFile(html, 'utf8');
    expect(page).toMatch(/^<!doctype html>/i);
    expect(page).toContain('forward-policy-drop');
    expect(page).not.toContain('{{');
    const report = JSON.parse(result.stdout) as Report;
    expect(report.rules.find((rule) => rule.id === 'forward-policy-drop')?.verdict).toBe('fail');
    const library = await analyzeBundle(sample, { rules });
    const verdicts = (of: Report) => Object.fromEntries(of.rules.map((rule) => [rule.id, rule.verdict]));
    expect(verdicts(report)).toEqual(verdicts(library));
  });

  it("collects a dead node's root offline, redacts it, and the bundle analyzes", async () => {
    const root = join(dir, 'root');
    await writeNodeRoot(root);
    const bundle = join(dir, 'offline.tar.gz');
    const result = await runProgram(binary, ['collect', '--root', root, '--offline', '--out', bundle]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${bundle}\n`);
    expect(result.stderr).toMatch(/^collected: .*\d+ ok/m);

    const manifest = await readManifest(bundle);
    const status = (id: string) => manifest.items.find((item) => item.id === id);
    expect(manifest.parameters).toMatchObject({ root, offline: true });
    expect(status('os-release')).toMatchObject({ status: 'ok' });
    expect(status('proc-loadavg')).toMatchObject({ status: 'ok' });
    expect(status('cloud-init-output-log')).toMatchObject({ status: 'ok', redactions: 1 });
    expect(status('iptables-save')).toMatchObject({ status: 'skipped', reason: expect.stringContaining('--offline') });

    const members = await bundleMembers(bundle);
    expect(members.get('system/loadavg.txt')?.toString()).toBe('0.42 0.30 0.25 2/345 12345\n');
    for (const [name, body] of members) expect(body.includes(PLANTED_SECRET), name).toBe(false);

    const report = await analyzeBundle(bundle, { rules });
    expect(report.bundle).toMatchObject({
      layout: 'eks-node-diag',
      errors: [],
      collector: { name: 'eks-node-diag', version: TOOL_VERSION },
      node: { os: 'Amazon Linux 2023.6.20250303' },
    });
    // Nothing offline shows iptables, so the rule cannot judge; the ipamd log it did read is judged.
    const verdictOf = (id: string) => report.rules.find((rule) => rule.id === id)?.verdict;
    expect(verdictOf('forward-policy-drop')).toBe('not-evaluated');
    expect(verdictOf('ipamd-api-server-unreachable')).toBe('pass');
  });
});

describe.skipIf(!singleExecutableAvailable('x64') || !simulationAvailable())(
  'the x64 single executable on a simulated node',
  () => {
    let world: NodeWorld;
    let report: Report;
    let stderr: string;
    beforeAll(async () => {
      const { x64 } = await ensureAgentBinaries();
      world = await createNodeWorld('forward-drop-custom-ami');
      const bundle = join(world.dir, 'node.tar.gz');
      const result = await world.exec([x64, 'collect', '--root', world.root, '--out', bundle, '--since', '24h'], {
        timeoutMs: 180_000,
      });
      stderr = result.stderr;
      if (result.exitCode !== 0) throw new Error(`collect exited ${result.exitCode}: ${result.stderr}`);
      report = await analyzeBundle(bundle, { rules });
    }, 900_000);
    afterAll(async () => {
      await world?.dispose();
    });

    it('collects live state (commands, endpoints, journals) and yields the declared verdicts', () => {
      const verdicts = Object.fromEntries(
        Object.keys(world.expected).map((id) => [id, report.rules.find((rule) => rule.id === id)?.verdict]),
      );
      expect(verdicts, stderr).toEqual(world.expected);
      expect(report.rules.find((rule) => rule.id === 'forward-policy-drop')?.evidence[0]).toMatchObject({
        path: 'networking/iptables-save.txt',
        text: expect.stringMatching(/^:FORWARD DROP \[\d+:\d+\]/),
      });
      expect(report.bundle.errors).toEqual([]);
    });
  },
);
