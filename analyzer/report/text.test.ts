import { describe, expect, it } from 'vitest';
import {
  clip,
  formatBytes,
  formatDuration,
  formatTime,
  isWebUrl,
  noFailureMessage,
  splitCode,
  splitStep,
  stripControls,
  visibleControlParts,
  visibleControls,
} from './text.ts';

describe('stripControls', () => {
  it.each([
    ['SGR colour', '\u001b[31mred\u001b[0m text', 'red text'],
    ['clear screen and home', '\u001b[2J\u001b[Hafter', 'after'],
    ['private mode (hide cursor)', '\u001b[?25lhidden', 'hidden'],
    ['OSC title ended by BEL', '\u001b]0;pwned\u0007after', 'after'],
    ['OSC 8 hyperlink ended by ST', '\u001b]8;;https://x.test\u001b\\link\u001b]8;;\u001b\\', 'link'],
    ['8-bit CSI', '\u009b31mred', 'red'],
    ['8-bit OSC ended by 8-bit ST', '\u009d0;t\u009cafter', 'after'],
    ['DCS string', '\u001bPq#0;2;0;0;0\u001b\\after', 'after'],
    ['unterminated OSC swallows the rest', 'before\u001b]0;never ends', 'before'],
    ['two-character ESC sequence (RIS reset)', 'a\u001bcb', 'ab'],
    ['lone ESC at the end', 'a\u001b', 'a'],
    ['other C0, DEL and C1', 'a\u0000b\u0007c\u007fd\u0085e', 'abcde'],
    ['line breaks and tabs become spaces', 'one\r\ntwo\tthree', 'one  two three'],
    ['bidi override and line separator', '\u202etxt.exe\u2028x', 'txt.exe x'],
  ])('%s', (_name, input, expected) => {
    expect(stripControls(input)).toBe(expected);
  });

  it('keeps ordinary Unicode', () => {
    expect(stripControls('Zeit: 09:41 – ✓ 日本')).toBe('Zeit: 09:41 – ✓ 日本');
  });
});

describe('visibleControls', () => {
  it('shows controls as escapes and keeps tabs', () => {
    expect(visibleControls('\u001b[31mred\u0000\tx\r\n\u007f\u009b\u202e')).toBe(
      '\\x1b[31mred\\x00\tx\\r\\n\\x7f\\x9b\\u202e',
    );
  });

  it('splits escapes into parts, merging neighbours', () => {
    expect(visibleControlParts('a\u001b\u0007b\nc')).toEqual([
      { text: 'a', control: false },
      { text: '\\x1b\\x07', control: true },
      { text: 'b', control: false },
      { text: '\\n', control: true },
      { text: 'c', control: false },
    ]);
    expect(visibleControlParts('')).toEqual([]);
  });
});

describe('clip', () => {
  it('keeps short text and cuts long text', () => {
    expect(clip('abc', 3)).toEqual({ text: 'abc', omitted: 0 });
    expect(clip('abcdef', 4)).toEqual({ text: 'abcd', omitted: 2 });
  });

  it('never splits a surrogate pair', () => {
    expect(clip('ab😀cd', 3)).toEqual({ text: 'ab', omitted: 4 });
  });
});

describe('splitCode', () => {
  it('splits on backtick pairs', () => {
    expect(splitCode('Run `kubectl get pods` now')).toEqual([
      { text: 'Run ', code: false },
      { text: 'kubectl get pods', code: true },
      { text: ' now', code: false },
    ]);
  });

  it('keeps an unmatched backtick and an empty pair as text', () => {
    expect(splitCode('a `b` c ` d')).toEqual([
      { text: 'a ', code: false },
      { text: 'b', code: true },
      { text: ' c ` d', code: false },
    ]);
    expect(splitCode('x `` y')).toEqual([{ text: 'x `` y', code: false }]);
    expect(splitCode('')).toEqual([]);
  });
});

describe('splitStep', () => {
  it('sets a trailing command after a colon apart', () => {
    expect(splitStep('Check it: `kubectl get pods -A`')).toEqual({
      lead: [{ text: 'Check it:', code: false }],
      command: 'kubectl get pods -A',
    });
  });

  it('treats a step that is only a command as one', () => {
    expect(splitStep('`sudo systemctl restart kubelet`')).toEqual({
      lead: [],
      command: 'sudo systemctl restart kubelet',
    });
  });

  it('leaves commands inside a sentence inline', () => {
    expect(splitStep('Remove it (`kubectl edit ds aws-node`); then wait.').command).toBeUndefined();
    expect(splitStep('Add `X=1` to `kubelet.service`').command).toBeUndefined();
  });
});

describe('noFailureMessage', () => {
  it('speaks of health only when a rule passed', () => {
    expect(noFailureMessage(3, 0)).toEqual({ healthy: true, text: 'No rule failed.' });
    expect(noFailureMessage(3, 2)).toEqual({ healthy: true, text: 'No rule failed; 2 rules could not be evaluated.' });
    expect(noFailureMessage(0, 1)).toEqual({
      healthy: false,
      text: 'No rule reached a verdict: 1 rule could not be evaluated.',
    });
    expect(noFailureMessage(0, 0)).toEqual({ healthy: false, text: 'No rule was run.' });
  });
});

describe('formatting', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [19_293_184, '18.4 MiB'],
    [5 * 1024 ** 4, '5.0 TiB'],
    [-1, '?'],
    [Number.NaN, '?'],
  ])('formatBytes(%d) = %s', (bytes, expected) => {
    expect(formatBytes(bytes)).toBe(expected);
  });

  it('formats durations and times, passing through what is not a time', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(1843)).toBe('1.8 s');
    expect(formatTime('2026-11-26T10:21:47.000Z')).toBe('2026-11-26 10:21:47 UTC');
    expect(formatTime('2026-11-26T11:21:47+01:00')).toBe('2026-11-26 10:21:47 UTC');
    expect(formatTime('yesterday')).toBe('yesterday');
    expect(formatTime('2026-13-45T99:99:99Z')).toBe('2026-13-45T99:99:99Z');
  });

  it('accepts only http(s) URLs as links', () => {
    expect(isWebUrl('https://docs.aws.amazon.com/eks/')).toBe(true);
    expect(isWebUrl('javascript:alert(1)')).toBe(false);
    expect(isWebUrl('data:text/html,x')).toBe(false);
    expect(isWebUrl('/relative/path')).toBe(false);
    expect(isWebUrl('not a url')).toBe(false);
  });
});
