import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeBundle } from '../../analyzer/engine/analyze-bundle.ts';
import forwardPolicyDrop from '../../analyzer/rules/forward-policy-drop.ts';
import { BundleWriter } from './writer.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'writer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const save = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [3:180]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';

describe('BundleWriter', () => {
  it('writes a tar.gz the analyzer reads, entries in append order, manifest last', async () => {
    const file = join(dir, 'whole.tar.gz');
    const writer = new BundleWriter(createWriteStream(file));
    await writer.appendBuffer('networking/iptables-save.txt', save);
    const big = Buffer.alloc(700_000, 'x\n');
    await writer.append({
      path: 'var_log/messages',
      size: big.length,
      mtime: new Date(),
      open: () => Readable.from([big.subarray(0, 100), big.subarray(100)]),
    });
    await writer.appendBuffer('manifest.json', '{}');
    await writer.finish();
    const report = await analyzeBundle(file, { rules: [forwardPolicyDrop] });
    expect(report.bundle.inventory.map((entry) => entry.path)).toEqual([
      'networking/iptables-save.txt',
      'var_log/messages',
      'manifest.json',
    ]);
    expect(report.bundle.inventory[1]?.bytes).toBe(700_000);
    expect(report.rules[0]?.verdict).toBe('fail');
    expect(writer.entries).toBe(3);
  });

  it('leaves a readable prefix when the agent dies before finishing', async () => {
    const file = join(dir, 'killed.tar.gz');
    const writer = new BundleWriter(createWriteStream(file));
    await writer.appendBuffer('networking/iptables-save.txt', save);
    await writer.appendBuffer('kernel/uname.txt', 'Linux ip-10-0-1-23 6.1.0 #1 SMP x86_64 GNU/Linux\n');
    // No finish(): the process is gone. Copy what reached the disk.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const prefix = await readFile(file);
    const copy = join(dir, 'prefix.tar.gz');
    await writeFile(copy, prefix);
    const report = await analyzeBundle(copy, { rules: [forwardPolicyDrop] });
    expect(report.bundle.inventory.map((entry) => entry.path)).toEqual([
      'networking/iptables-save.txt',
      'kernel/uname.txt',
    ]);
    expect(report.bundle.errors.map((error) => error.code)).toContain('ENDIAG_ARCHIVE_TRUNCATED');
    expect(report.rules[0]?.verdict).toBe('fail');
  });

  it('keeps the archive well-formed when a source yields less or more than declared', async () => {
    const file = join(dir, 'short.tar.gz');
    const writer = new BundleWriter(createWriteStream(file));
    await expect(
      writer.append({
        path: 'system/top.txt',
        size: 100,
        mtime: new Date(),
        open: () => Readable.from([Buffer.from('only 20 bytes here..')]),
      }),
    ).rejects.toThrow(/80 bytes short/);
    await writer.append({
      path: 'system/ps.txt',
      size: 5,
      mtime: new Date(),
      open: () => Readable.from([Buffer.from('0123456789')]),
    });
    await writer.appendBuffer('networking/iptables-save.txt', save);
    await writer.finish();
    const report = await analyzeBundle(file, { rules: [forwardPolicyDrop] });
    expect(report.bundle.errors).toEqual([]);
    expect(report.bundle.inventory.map((entry) => [entry.path, entry.bytes])).toEqual([
      ['system/top.txt', 100],
      ['system/ps.txt', 5],
      ['networking/iptables-save.txt', save.length],
    ]);
  });
});
