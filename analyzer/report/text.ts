/**
 * Text helpers shared by the renderers. Bundle text is hostile until shown otherwise: a log line may hold terminal
 * escapes, bidi overrides or a 100 KB blob. The HTML and Markdown renderings make such characters visible (a support
 * engineer should see that the line had an ESC in it); the terminal rendering removes them so they cannot act.
 */

/** C0 controls except tab, DEL and C1 controls, as a character-class body (escaped, so the source holds none). */
const CONTROL_CLASS = '\\u0000-\\u0008\\u000a-\\u001f\\u007f-\\u009f';
/** Bidi controls and line/paragraph separators: they reorder or break displayed text without being visible. */
const INVISIBLE_CLASS = '\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';

const CONTROL = new RegExp(`[${CONTROL_CLASS}]`, 'g');
const INVISIBLE_FORMATTING = new RegExp(`[${INVISIBLE_CLASS}]`, 'g');
const SHOWN_AS_ESCAPE = new RegExp(`[${CONTROL_CLASS}${INVISIBLE_CLASS}]`, 'g');

const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r' };

/** The escape a programmer would write for `char`: `\x1b`, `\n`, `\u202e`. */
function escapeFor(char: string): string {
  const named = NAMED_ESCAPES[char];
  if (named) return named;
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Replaces control characters (C0 but tab, DEL, C1) and invisible bidi/separator characters with the escape a
 * programmer would write: ESC shows as `\x1b`, a newline as `\n`, a right-to-left override as `\u202e`. Escapes
 * rather than Unicode control pictures, because common fonts lack those glyphs and show empty boxes.
 */
export function visibleControls(text: string): string {
  return text.replace(SHOWN_AS_ESCAPE, escapeFor);
}

export interface ShownPart {
  text: string;
  /** True for an escape that stands for a control character, so a renderer can set it apart from real text. */
  control: boolean;
}

/** `visibleControls`, but split so each escape is its own part. */
export function visibleControlParts(text: string): ShownPart[] {
  const parts: ShownPart[] = [];
  let from = 0;
  for (const match of text.matchAll(SHOWN_AS_ESCAPE)) {
    if (match.index > from) parts.push({ text: text.slice(from, match.index), control: false });
    const shown = escapeFor(match[0]);
    const last = parts.at(-1);
    if (last?.control) last.text += shown;
    else parts.push({ text: shown, control: true });
    from = match.index + match[0].length;
  }
  if (from < text.length) parts.push({ text: text.slice(from), control: false });
  return parts;
}

/**
 * Escape sequences a terminal acts on: CSI (`ESC [` or the 8-bit 0x9b) with its parameters, OSC/DCS/PM/APC/SOS
 * strings up to their terminator, and two-character ESC sequences. An unterminated string runs to the end.
 */
const TERMINAL_SEQUENCE = new RegExp(
  [
    '(?:\\u001b\\[|\\u009b)[\\u0030-\\u003f]*[\\u0020-\\u002f]*[\\u0040-\\u007e]?',
    '(?:\\u001b[\\]PX^_]|[\\u0090\\u0098\\u009d\\u009e\\u009f])[\\s\\S]*?(?:\\u0007|\\u001b\\\\|\\u009c|$)',
    '\\u001b[\\s\\S]?',
  ].join('|'),
  'g',
);

/**
 * For terminal output: removes escape sequences whole (so no half of one survives as visible junk), turns tabs and
 * line breaks into spaces and drops every other control and bidi character.
 */
export function stripControls(text: string): string {
  return text
    .replace(TERMINAL_SEQUENCE, '')
    .replace(/[\t\n\r\u2028\u2029]/g, ' ')
    .replace(CONTROL, '')
    .replace(INVISIBLE_FORMATTING, '');
}

/** Cuts `text` to at most `max` UTF-16 units without splitting a surrogate pair; `omitted` counts what was cut. */
export function clip(text: string, max: number): { text: string; omitted: number } {
  if (text.length <= max) return { text, omitted: 0 };
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return { text: text.slice(0, end), omitted: text.length - end };
}

export interface TextSegment {
  text: string;
  /** True for a backtick-quoted span (a command, a path, a config line). */
  code: boolean;
}

/**
 * Splits rule prose on backticks: `Run \`kubectl get pods\` now` becomes text, code, text. An unmatched backtick stays
 * literal text, and so does an empty pair.
 */
export function splitCode(text: string): TextSegment[] {
  const parts = text.split('`');
  if (parts.length % 2 === 0) {
    const tail = parts.splice(-2, 2).join('`');
    parts.push(tail);
  }
  const segments: TextSegment[] = [];
  parts.forEach((part, index) => {
    const code = index % 2 === 1;
    if (code && part === '') {
      appendText(segments, '``');
    } else if (code) {
      segments.push({ text: part, code: true });
    } else if (part !== '') {
      appendText(segments, part);
    }
  });
  return segments;
}

function appendText(segments: TextSegment[], text: string): void {
  const last = segments.at(-1);
  if (last && !last.code) last.text += text;
  else segments.push({ text, code: false });
}

/** A remediation step split into its prose and, when the step ends in `: \`command\``, the command to copy. */
export interface Step {
  lead: TextSegment[];
  command?: string;
}

/**
 * Rules write a step that tells the reader to run something as prose, a colon, then the command in backticks. That
 * trailing command is set apart so it can be copied whole; other backtick spans stay inline.
 */
export function splitStep(step: string): Step {
  const segments = splitCode(step.trim());
  const last = segments.at(-1);
  if (!last?.code) return { lead: segments };
  const before = segments.at(-2);
  if (segments.length === 1) return { lead: [], command: last.text };
  if (before && !before.code && before.text.trimEnd().endsWith(':')) {
    return { lead: [...segments.slice(0, -2), { text: before.text.trimEnd(), code: false }], command: last.text };
  }
  return { lead: segments };
}

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes;
  let unit = 'B';
  for (const next of BYTE_UNITS) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return `${value.toFixed(1)} ${unit}`;
}

export function formatCount(count: number): string {
  return Number.isFinite(count) ? count.toLocaleString('en-US') : '?';
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** `2026-11-26T10:21:47.000Z` as `2026-11-26 10:21:47 UTC`; anything that is not a date is returned as it came. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (!/^\d{4}-\d\d-\d\dT/.test(iso) || Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** `n thing` / `n things`, with the count formatted. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${formatCount(count)} ${count === 1 ? singular : pluralForm}`;
}

/** Only web links become anchors; anything else (`javascript:`, `data:`, relative paths) is shown as text. */
export function isWebUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * What to say when no rule failed. "No rule failed" alone would read as a clean bill of health even when nothing
 * could be judged, so it is said only when at least one rule passed.
 */
export function noFailureMessage(passed: number, notEvaluated: number): { healthy: boolean; text: string } {
  if (passed > 0) {
    const rest = notEvaluated > 0 ? `; ${plural(notEvaluated, 'rule')} could not be evaluated` : '';
    return { healthy: true, text: `No rule failed${rest}.` };
  }
  if (notEvaluated > 0) {
    return {
      healthy: false,
      text: `No rule reached a verdict: ${plural(notEvaluated, 'rule')} could not be evaluated.`,
    };
  }
  return { healthy: false, text: 'No rule was run.' };
}
