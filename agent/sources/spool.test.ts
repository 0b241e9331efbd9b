import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Spooled, spool } from './spool.ts';

let tempDir: string;
beforeEach(async () => {
  tempDir = await mkdtemp(join(tmpdir(), 'spool-test-'));
});
afterEach(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

/**
 * `count` numbered lines of a fixed width (`line 0000001\n` = 13 bytes with 7 digits), in chunks of `perChunk`
 * lines. Digits are written straight into each chunk so the generator itself makes no garbage worth measuring.
 */
function numberedLines(count: number, perChunk = 1000, onChunk?: () => Promise<void> | void, digits = 7) {
  const state = { ended: false };
  const width = 'line \n'.length + digits;
  async function* generate() {
    for (let first = 1; first <= count; first += perChunk) {
      const lines = Math.min(perChunk, count - first + 1);
      const chunk = Buffer.allocUnsafe(lines * width);
      for (let line = 0; line < lines; line++) {
        const at = line * width;
        chunk.write('line ', at, 'latin1');
        let n = first + line;
        for (let digit = digits - 1; digit >= 0; digit--) {
          chunk[at + 5 + digit] = 0x30 + (n % 10);
          n = Math.floor(n / 10);
        }
        chunk[at + width - 1] = 0x0a;
      }
      await onChunk?.();
      yield chunk;
    }
    state.ended = true;
  }
  return { stream: Readable.from(generate(), { objectMode: false }), state };
}

function linesFrom(first: number, last: number): string {
  const lines: string[] = [];
  for (let n = first; n <= last; n++) lines.push(`line ${String(n).padStart(7, '0')}\n`);
  return lines.join('');
}

async function read(spooled: Spooled): Promise<string> {
  const output = await text(spooled.open());
  expect(Buffer.byteLength(output)).toBe(spooled.bytes);
  return output;
}

describe('spool under budget', () => {
  it('keeps a small output in memory, byte for byte, and can open it twice', async () => {
    const input = Buffer.from('a\r\nb\0c\xff without final newline', 'latin1');
    const spooled = await spool(Readable.from([input]), { maxBytes: 1024, tail: false, tempDir });
    expect(spooled).toMatchObject({ bytes: input.length, seenBytes: input.length, truncated: false });
    for (let opened = 0; opened < 2; opened++) {
      expect(Buffer.concat(await spooled.open().toArray()).equals(input)).toBe(true);
    }
    expect(await readdir(tempDir)).toEqual([]);
    await spooled.dispose();
  });

  it('keeps an empty output empty', async () => {
    const spooled = await spool(Readable.from([]), { maxBytes: 10, tail: true, tempDir });
    expect(spooled).toMatchObject({ bytes: 0, seenBytes: 0, truncated: false });
    expect(await read(spooled)).toBe('');
  });

  it('keeps an output of exactly the budget whole, in both modes', async () => {
    for (const tail of [false, true]) {
      const spooled = await spool(Readable.from([Buffer.from(linesFrom(1, 4))]), { maxBytes: 52, tail, tempDir });
      expect(spooled.truncated).toBe(false);
      expect(await read(spooled)).toBe(linesFrom(1, 4));
    }
  });

  it('moves an output larger than the memory limit into a 0600 temp file', async () => {
    const { stream } = numberedLines(1000, 10);
    const spooled = await spool(stream, { maxBytes: 1 << 20, tail: false, tempDir, memoryLimit: 1024 });
    expect(spooled.truncated).toBe(false);
    expect(await read(spooled)).toBe(linesFrom(1, 1000));
    const files = await readdir(tempDir);
    expect(files).toHaveLength(1);
    expect((await stat(join(tempDir, files[0] as string))).mode & 0o777).toBe(0o600);
    await spooled.dispose();
    expect(await readdir(tempDir)).toEqual([]);
    expect(() => spooled.open()).toThrow(/disposed/);
  });
});

describe('spool head mode over budget', () => {
  it('keeps the first maxBytes, reads the rest to count it, and ends with a marker line', async () => {
    const { stream, state } = numberedLines(100, 7);
    const spooled = await spool(stream, { maxBytes: 30, tail: false, tempDir });
    expect(state.ended).toBe(true);
    expect(spooled).toMatchObject({ seenBytes: 1300, truncated: true });
    expect(await read(spooled)).toBe(
      'line 0000001\nline 0000002\nline\n[eks-node-diag: output cut at 30 bytes of 1300]\n',
    );
  });

  it('adds no blank line before the marker when the cut falls on a line end', async () => {
    const spooled = await spool(Readable.from([Buffer.from(linesFrom(1, 5))]), { maxBytes: 26, tail: false, tempDir });
    expect(await read(spooled)).toBe(`${linesFrom(1, 2)}[eks-node-diag: output cut at 26 bytes of 65]\n`);
  });

  it('cuts the same way when the kept part is in a temp file', async () => {
    const { stream } = numberedLines(10_000, 50);
    const spooled = await spool(stream, { maxBytes: 13 * 5000, tail: false, tempDir, memoryLimit: 4096 });
    expect(await read(spooled)).toBe(`${linesFrom(1, 5000)}[eks-node-diag: output cut at 65000 bytes of 130000]\n`);
    expect(await readdir(tempDir)).toHaveLength(1);
    await spooled.dispose();
  });
});

describe('spool tail mode over budget', () => {
  it('keeps the last maxBytes from the next line start, after a marker line', async () => {
    const { stream } = numberedLines(100, 7);
    const spooled = await spool(stream, { maxBytes: 30, tail: true, tempDir });
    // The last 30 bytes start 4 bytes into line 98; the output starts at line 99.
    expect(await read(spooled)).toBe(`[eks-node-diag: output cut at 26 bytes of 1300]\n${linesFrom(99, 100)}`);
    expect(spooled).toMatchObject({ seenBytes: 1300, truncated: true });
  });

  it('keeps a window that already starts on a line whole', async () => {
    const spooled = await spool(Readable.from([Buffer.from(linesFrom(1, 10))]), { maxBytes: 39, tail: true, tempDir });
    expect(await read(spooled)).toBe(`[eks-node-diag: output cut at 39 bytes of 130]\n${linesFrom(8, 10)}`);
  });

  it('keeps one long unfinished line as it is rather than dropping it', async () => {
    const spooled = await spool(Readable.from([Buffer.from('x'.repeat(100))]), { maxBytes: 10, tail: true, tempDir });
    expect(await read(spooled)).toBe(`[eks-node-diag: output cut at 10 bytes of 100]\n${'x'.repeat(10)}`);
  });

  it('alternates two temp files and still yields the exact last lines', async () => {
    const { stream } = numberedLines(20_000, 33);
    const maxBytes = 13 * 1000 + 5;
    const spooled = await spool(stream, { maxBytes, tail: true, tempDir, memoryLimit: 2048 });
    expect(await read(spooled)).toBe(
      `[eks-node-diag: output cut at 13000 bytes of 260000]\n${linesFrom(19_001, 20_000)}`,
    );
    const files = await readdir(tempDir);
    expect(files).toHaveLength(2);
    for (const file of files) expect((await stat(join(tempDir, file))).mode & 0o777).toBe(0o600);
    await spooled.dispose();
    expect(await readdir(tempDir)).toEqual([]);
  });

  it('handles a segment boundary that falls exactly at the end of the source', async () => {
    const { stream } = numberedLines(300, 10);
    const spooled = await spool(stream, { maxBytes: 13 * 100, tail: true, tempDir, memoryLimit: 100 });
    expect(await read(spooled)).toBe(`[eks-node-diag: output cut at 1300 bytes of 3900]\n${linesFrom(201, 300)}`);
  });
});

describe('spool with a source that skipped bytes itself', () => {
  it('counts the unread bytes in the total and marks the output', async () => {
    const spooled = await spool(Readable.from([Buffer.from(linesFrom(9, 10))]), {
      maxBytes: 100,
      tail: true,
      tempDir,
      unreadBytes: Promise.resolve(104),
    });
    expect(spooled).toMatchObject({ seenBytes: 130, truncated: true });
    expect(await read(spooled)).toBe(`[eks-node-diag: output cut at 26 bytes of 130]\n${linesFrom(9, 10)}`);
  });

  it('says "more than" when the source stopped without knowing the rest', async () => {
    const spooled = await spool(Readable.from([Buffer.from('abc\n')]), {
      maxBytes: 4,
      tail: false,
      tempDir,
      unreadBytes: null,
    });
    expect(await read(spooled)).toBe('abc\n[eks-node-diag: output cut at 4 bytes of more than 4]\n');
  });

  it('is not truncated when the source read everything', async () => {
    const spooled = await spool(Readable.from([Buffer.from('abc\n')]), {
      maxBytes: 4,
      tail: true,
      tempDir,
      unreadBytes: 0,
    });
    expect(spooled.truncated).toBe(false);
  });
});

describe('spool failures', () => {
  it('keeps what a failing source produced before it failed', async () => {
    async function* failing() {
      yield Buffer.from('partial\n');
      throw new Error('EIO');
    }
    const spooled = await spool(Readable.from(failing(), { objectMode: false }), {
      maxBytes: 100,
      tail: false,
      tempDir,
    });
    expect(await read(spooled)).toBe('partial\n');
  });

  it('rejects with the write error, and stops the source, when the temp dir is unusable', async () => {
    const { stream } = numberedLines(1000, 100);
    const missing = join(tempDir, 'gone');
    await expect(spool(stream, { maxBytes: 1 << 20, tail: true, tempDir: missing, memoryLimit: 1024 })).rejects.toThrow(
      /ENOENT/,
    );
    expect(stream.destroyed).toBe(true);
  });
});

/** V8's gc(), exposed at run time so RSS samples measure what is retained rather than garbage not yet collected. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('spool bounds', () => {
  const collectGarbage = exposeGc();
  const TOTAL_LINES = 15_000_000; // `line 00000001\n`, 14 bytes each: 210 MB
  const maxBytes = 8 * 1024 * 1024;

  async function spoolHuge(tail: boolean) {
    let peakDisk = 0;
    let peakRss = 0;
    let chunks = 0;
    collectGarbage();
    const baseline = process.memoryUsage().rss;
    const { stream } = numberedLines(
      TOTAL_LINES,
      5000,
      async () => {
        if (++chunks % 64 !== 0) return;
        // Collect first: what is left is what the spool holds, not buffers the GC has yet to free.
        collectGarbage();
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        const files = await readdir(tempDir);
        const sizes = await Promise.all(files.map(async (file) => (await stat(join(tempDir, file))).size));
        peakDisk = Math.max(
          peakDisk,
          sizes.reduce((sum, size) => sum + size, 0),
        );
      },
      8,
    );
    const spooled = await spool(stream, { maxBytes, tail, tempDir });
    return { spooled, peakDisk, rssGrowth: peakRss - baseline };
  }

  it('tail mode keeps 200 MB down to the budget with disk under twice the budget and little memory', async () => {
    const { spooled, peakDisk, rssGrowth } = await spoolHuge(true);
    expect(spooled.seenBytes).toBe(TOTAL_LINES * 14);
    expect(peakDisk).toBeGreaterThan(0);
    expect(peakDisk).toBeLessThanOrEqual(2 * maxBytes);
    expect(rssGrowth).toBeLessThan(24 * 1024 * 1024);
    const output = await read(spooled);
    const marker = output.slice(0, output.indexOf('\n') + 1);
    expect(marker).toMatch(/^\[eks-node-diag: output cut at \d+ bytes of 210000000\]\n$/);
    expect(output.endsWith(`line ${TOTAL_LINES}\n`)).toBe(true);
    expect(output.slice(marker.length)).toMatch(/^line \d{8}\n/);
    await spooled.dispose();
  });

  it('head mode reads 200 MB through, keeping only the budget', async () => {
    const { spooled, peakDisk, rssGrowth } = await spoolHuge(false);
    expect(spooled.seenBytes).toBe(TOTAL_LINES * 14);
    expect(peakDisk).toBeLessThanOrEqual(maxBytes);
    expect(rssGrowth).toBeLessThan(24 * 1024 * 1024);
    expect(spooled.bytes).toBe(maxBytes + 1 + '[eks-node-diag: output cut at 8388608 bytes of 210000000]\n'.length);
    await spooled.dispose();
  });
});
