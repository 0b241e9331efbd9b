/**
 * Kernel parameters as `sysctl` prints them, and the legacy collector's `/proc/sys` listing of the same values.
 *
 * Reads: `sysctls/sysctl_all.txt` (item `sysctl-all`: `sysctl --all` from the stock script, which drops stderr, and
 * from our agent) and `sysctls/rp_filter.txt` (item `sysctl-rp-filter`: the legacy aws-cni-support.sh `sysctls.out`,
 * which echoes `<path> = <value>` for every `/proc/sys/net/ipv4/conf/<interface>/rp_filter`).
 * Accepts:
 * - `key = value`, the value as printed: empty (`net.ipv4.ip_local_reserved_ports = `), several tab-separated fields
 *   (`net.ipv4.ip_local_port_range = 32768<TAB>60999`), or one of several lines of the same key (`dev.cdrom.info`).
 *   Interface names with dots appear with slashes in keys (`net.ipv4.conf.eth0/100.rp_filter`), as sysctl prints them.
 * - `/proc/sys/<path> = value`, turned into the key sysctl would print (`/` between levels becomes `.`, a `.` inside
 *   a level becomes `/`), so rules look up one key whichever collector wrote the file; `path` keeps what was written.
 * - procps's complaints, when stderr was captured: `sysctl: permission denied on key 'fs.protected_fifos'`,
 *   `sysctl: reading key "net.ipv6.conf.all.stable_secret"`, `sysctl: cannot stat /proc/sys/...`: `error` events.
 * Blank lines are skipped; anything else is `unparsed`.
 *
 * Sample (parsed by the test):
 *   net.ipv4.conf.all.rp_filter = 1
 *   net.ipv4.conf.eth0.rp_filter = 2
 *   net.ipv4.ip_forward = 1
 *   net.ipv4.ip_local_reserved_ports =
 *   sysctl: permission denied on key 'fs.protected_fifos'
 *   /proc/sys/net/ipv4/conf/eth0/rp_filter = 2
 */

import type { LineEvent, ParserDef, UnparsedEvent } from './types.ts';

export interface SysctlValueEvent extends LineEvent {
  kind: 'value';
  /** Dotted key as sysctl prints it, e.g. `net.ipv4.conf.eth0.rp_filter`. */
  key: string;
  /** The value as printed, without surrounding spaces; tabs between fields kept. */
  value: string;
  /** The `/proc/sys/...` path, for lines written in the legacy form. */
  path?: string;
}

export interface SysctlErrorEvent extends LineEvent {
  kind: 'error';
  /** procps's message after `sysctl: `. */
  text: string;
  /** The key or path the message names, when it names one. */
  key?: string;
}

export type SysctlEvent = SysctlValueEvent | SysctlErrorEvent | UnparsedEvent;

const PROC_SYS = '/proc/sys/';
const KEY_VALUE = /^(\S+) =(?: (.*))?$/;
const KEY_IN_MESSAGE = /(?:key ['"]([^'"]+)['"]|cannot stat (\S+?):?(?:\s|$)|"([^"]+)" is an unknown key)/;

/** The sysctl key for a `/proc/sys/...` path: `/proc/sys/net/ipv4/conf/eth0.100/rp_filter` → `net.ipv4.conf.eth0/100.rp_filter`. */
export function sysctlKeyOfProcPath(path: string): string {
  const rest = path.startsWith(PROC_SYS) ? path.slice(PROC_SYS.length) : path.replace(/^\/+/, '');
  return rest
    .split('/')
    .filter((level) => level !== '')
    .map((level) => level.replaceAll('.', '/'))
    .join('.');
}

function isKey(text: string): boolean {
  // sysctl keys are dotted lower-case words; digits, `_`, `-`, `/` (for dotted interface names) and `:` occur too.
  return /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_:/@+-]+)+$/.test(text);
}

export const sysctlParser: ParserDef<SysctlEvent> = {
  name: 'sysctl',
  create: () => ({
    push(raw, line, emit) {
      const text = raw.trim();
      if (text === '') return;
      if (text.startsWith('sysctl: ')) {
        const message = text.slice('sysctl: '.length);
        const named = KEY_IN_MESSAGE.exec(message);
        const key = named?.[1] ?? named?.[2] ?? named?.[3];
        const event: SysctlErrorEvent = { kind: 'error', line, raw, text: message };
        if (key) event.key = key.startsWith('/') ? sysctlKeyOfProcPath(key) : key;
        emit(event);
        return;
      }
      const match = KEY_VALUE.exec(text);
      const name = match?.[1];
      if (!match || name === undefined) {
        emit({ kind: 'unparsed', line, raw, reason: 'expected "key = value"' });
        return;
      }
      const value = (match[2] ?? '').trim();
      if (name.startsWith('/')) {
        const key = sysctlKeyOfProcPath(name);
        if (!name.startsWith(PROC_SYS) || !isKey(key)) {
          emit({ kind: 'unparsed', line, raw, reason: 'a path outside /proc/sys' });
          return;
        }
        emit({ kind: 'value', line, raw, key, value, path: name });
        return;
      }
      if (!isKey(name)) {
        emit({ kind: 'unparsed', line, raw, reason: 'not a sysctl key before " = "' });
        return;
      }
      emit({ kind: 'value', line, raw, key: name, value });
    },
  }),
};

/** The numeric value of a single-field sysctl (`1`, `-1`), or undefined for text and multi-field values. */
export function sysctlNumber(value: string): number | undefined {
  return /^-?\d+$/.test(value) ? Number(value) : undefined;
}
