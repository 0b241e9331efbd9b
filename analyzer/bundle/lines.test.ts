import { describe, expect, it } from 'vitest';
import { chooseAnchors, LineSplitter, LONG_LINE_MARK, looksBinary } from './lines.ts';

/** Feeds text in the given chunk sizes and returns the delivered [lineNumber, text] pairs and the splitter. */
function split(
  text: string | Buffer,
  chunkSizes: number[],
  options: { filters?: string[]; maxLineBytes?: number } = {},
) {
  const delivered: [number, string][] = [];
  const splitter = new LineSplitter((line, number) => delivered.push([number, line]), {
    maxLineBytes: options.maxLineBytes ?? 1024,
    filters: options.filters?.map((f) => Buffer.from(f)),
  });
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  let at = 0;
  let i = 0;
  while (at < bytes.length) {
    const size = chunkSizes[i++ % chunkSizes.length] as number;
    splitter.write(bytes.subarray(at, at + size));
    at += size;
  }
  splitter.end();
  return { delivered, splitter };
}

/** What a filtered split must return, computed the slow, obvious way. */
function expected(text: string, filters?: string[]): [number, string][] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines
    .map((line, index) => [index + 1, line.replace(/\r$/, '')] as [number, string])
    .filter(([, line]) => !filters || filters.some((f) => line.includes(f)));
}

// A deterministic mix of log-like lines, some matching the filters.
let seed = 7;
const random = () => {
  seed = (seed * 16807) % 2147483647;
  return seed / 2147483647;
};
const words = [
  'Probe failed',
  'SyncLoop',
  'probe, will be restarted',
  'kubeletVersion="v1.31.2"',
  'status=Running',
  'robe',
  'é→✓',
  '',
];
const corpus = Array.from({ length: 3000 }, (_, i) => {
  const parts = Array.from({ length: 1 + Math.floor(random() * 6) }, () => words[Math.floor(random() * words.length)]);
  return `${i} ${parts.join(' ')}${i % 97 === 0 ? '\r' : ''}`;
}).join('\n');

describe('LineSplitter', () => {
  const filters = ['Probe failed', 'probe, will be restarted', 'kubeletVersion='];

  it.each([[[1]], [[7, 3]], [[64]], [[1000]], [[1 << 20]]])('every line, chunks of %j bytes', (sizes) => {
    const { delivered, splitter } = split(corpus, sizes);
    expect(delivered).toEqual(expected(corpus));
    expect(splitter.lines).toBe(3000);
  });

  it.each([[[1]], [[5, 11]], [[333]], [[1 << 20]]])('filtered lines keep exact line numbers, chunks of %j', (sizes) => {
    const { delivered, splitter } = split(corpus, sizes, { filters });
    expect(delivered).toEqual(expected(corpus, filters));
    expect(delivered.length).toBeGreaterThan(100);
    expect(splitter.lines).toBe(3000);
  });

  it('confirms the whole filter, not just the shared anchor', () => {
    const { delivered } = split('a robe\nProbe failed here\nwardrobe\n', [4096], {
      filters: ['Probe failed', 'Probe errored'],
    });
    expect(delivered).toEqual([[2, 'Probe failed here']]);
  });

  it('handles a last line without a newline, and remembers the first and last lines', () => {
    const { delivered, splitter } = split('first\nmiddle\nlast Probe failed', [3], { filters: ['Probe failed'] });
    expect(delivered).toEqual([[3, 'last Probe failed']]);
    expect(splitter.firstLine).toBe('first');
    expect(splitter.lastLine).toBe('last Probe failed');
  });

  it('cuts over-long lines, marks them and counts them, in both modes', () => {
    const text = `short\n${'x'.repeat(5000)}Probe failed\nafter Probe failed\n`;
    const every = split(text, [700], { maxLineBytes: 100 });
    expect(every.delivered[1]).toEqual([2, `${'x'.repeat(100)}${LONG_LINE_MARK}`]);
    expect(every.splitter.longLines).toBe(1);
    const filtered = split(text, [1 << 20], { maxLineBytes: 100, filters: ['Probe failed'] });
    expect(filtered.delivered.map(([n]) => n)).toEqual([2, 3]);
    expect(filtered.delivered[0]?.[1]).toMatch(/…\[line cut by eks-node-diag\]$/);
  });

  it('a carried long line that only matches past the cut is not delivered', () => {
    const { delivered, splitter } = split(`${'y'.repeat(3000)} Probe failed\nok\n`, [10], {
      maxLineBytes: 100,
      filters: ['Probe failed'],
    });
    expect(delivered).toEqual([]);
    expect(splitter.lines).toBe(2);
    expect(splitter.longLines).toBe(1);
  });

  it('decodes UTF-8 split across chunks', () => {
    const { delivered } = split('héllo → wörld ✓\n', [1]);
    expect(delivered).toEqual([[1, 'héllo → wörld ✓']]);
  });
});

describe('chooseAnchors', () => {
  const filters = ['Probe failed', 'Probe errored', ' probe for "', 'probe, will be restarted', 'kubeletVersion='].map(
    (f) => Buffer.from(f),
  );
  const covers = (anchors: Buffer[]) =>
    filters.every((filter) => anchors.some((anchor) => filter.indexOf(anchor) !== -1));

  it('searches filters sharing a substring once, with short needles', () => {
    const anchors = chooseAnchors(filters);
    expect(covers(anchors)).toBe(true);
    expect(anchors.map(String)).toContain('robe');
    expect(anchors).toHaveLength(2);
    for (const anchor of anchors) expect(anchor.length).toBeLessThanOrEqual(6);
  });

  it('prefers anchors whose first byte is rare in the data', () => {
    // In this sample 'b' and 'e' are everywhere, 'P' and 'V' nowhere: anchors should start with the rare bytes.
    const sample = Buffer.from('be robe probe bebe e e e b b rob be '.repeat(2000));
    const anchors = chooseAnchors(filters, sample);
    expect(covers(anchors)).toBe(true);
    for (const anchor of anchors) expect(['b', 'e', 'r']).not.toContain(String.fromCharCode(anchor[0] as number));
  });

  it('keeps filters shorter than an anchor whole', () => {
    const anchors = chooseAnchors([Buffer.from('OOM'), Buffer.from('nf_conntrack')]).map(String);
    expect(anchors).toContain('OOM');
    expect(anchors).toHaveLength(2);
  });
});

describe('looksBinary', () => {
  it('tells text from data with NUL bytes', () => {
    expect(looksBinary(Buffer.from('plain text\n'))).toBe(false);
    expect(looksBinary(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1]))).toBe(true);
  });
});

describe('LineSplitter context after a match', () => {
  const text = [
    'a',
    'Probe failed output=<',
    '\tline one',
    ' >',
    'b',
    'c',
    'Probe failed again',
    'x',
    'Probe failed third',
    'y',
    'z',
    '',
  ].join('\n');

  it.each([[[1]], [[7]], [[1 << 20]]])('hands over N lines after each match, chunks of %j', (sizes) => {
    const delivered: [number, string][] = [];
    const splitter = new LineSplitter((line, n) => delivered.push([n, line]), {
      maxLineBytes: 1024,
      filters: [Buffer.from('Probe failed')],
      linesAfter: 2,
    });
    const bytes = Buffer.from(text);
    let at = 0;
    let i = 0;
    while (at < bytes.length) {
      const size = sizes[i++ % sizes.length] as number;
      splitter.write(bytes.subarray(at, at + size));
      at += size;
    }
    splitter.end();
    expect(delivered).toEqual([
      [2, 'Probe failed output=<'],
      [3, '\tline one'],
      [4, ' >'],
      [7, 'Probe failed again'],
      [8, 'x'],
      [9, 'Probe failed third'],
      [10, 'y'],
      [11, 'z'],
    ]);
    expect(splitter.lines).toBe(11);
  });
});
