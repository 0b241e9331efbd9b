/**
 * Reads a bundle once, as a stream, and hands each member's bytes to a visitor: `.tar.gz`/`.tgz`/`.tar` files
 * and extracted folders. Nothing is ever extracted to disk.
 *
 * Damage is reported, never thrown: a corrupt or truncated gzip stream, a tar that stops mid-member or has junk
 * headers, links and device entries all become bundle errors, and every member read before (and, for tar
 * header junk, after) the damage is still handed over.
 */
import { createReadStream } from 'node:fs';
import { lstat, opendir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import type { BundleError } from '../report/model.ts';

export interface MemberInfo {
  /** The member name as it stands in the archive (or the path relative to the folder). */
  name: string;
  /** Size the archive header declares. */
  size: number;
  mtime?: Date;
}

export interface MemberEnd {
  /** The archive ended (or broke) before the member's declared size was read. */
  truncated: boolean;
}

export interface MemberSink {
  write(chunk: Buffer): void;
  /** May return a promise for work that must finish before more of the archive is read (nested gzip). */
  end(end: MemberEnd): void | Promise<void>;
}

export interface BundleVisitor {
  /** Called for each regular file; return a sink to receive its bytes, or undefined to pass over them. */
  member(info: MemberInfo): MemberSink | undefined;
  error(error: BundleError): void;
}

export interface ReadSummary {
  kind: 'archive' | 'folder';
  /** Bytes of the input file read (compressed size for archives). */
  bytesRead: number;
  /** Bytes of tar stream or files handed over (uncompressed). */
  bytesUnpacked: number;
}

/** Thrown only when the input cannot be opened at all; everything inside an input is reported, not thrown. */
export class InputUnreadableError extends Error {
  readonly code = 'ENDIAG_INPUT_UNREADABLE';
}

const GZIP_MAGIC = [0x1f, 0x8b];

export async function readBundle(input: string, visitor: BundleVisitor): Promise<ReadSummary> {
  // `-` is standard input: `eks-node-diag collect --out - | eks-node-diag analyze -`.
  if (input === '-') return readArchive(process.stdin, 'stdin', visitor);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(input);
  } catch (error) {
    throw new InputUnreadableError(`${input}: cannot read it (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
  if (info.isDirectory()) return readFolder(input, visitor);
  if (!info.isFile() && !info.isFIFO() && !info.isCharacterDevice()) {
    throw new InputUnreadableError(`${input}: not a file, folder or pipe`);
  }
  // Small reads: when the gzip stream breaks, zlib drops what it inflated from the failing read, so the read size
  // bounds what damage can cost.
  return readArchive(createReadStream(input, { highWaterMark: 64 * 1024 }), baseName(input), visitor);
}

function sniff(head: Buffer): 'gzip' | 'tar' | 'unknown' {
  if (head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) return 'gzip';
  // POSIX/GNU tar: "ustar" at offset 257. Old v7 tars lack it; accept a header whose checksum field is octal.
  if (head.length >= 512 && head.toString('latin1', 257, 262) === 'ustar') return 'tar';
  if (head.length >= 512 && /^[0-7 \0]{8}$/.test(head.toString('latin1', 148, 156)) && head[0] !== 0) return 'tar';
  return 'unknown';
}

/** The first `size` bytes of a stream (fewer at its end), and the stream of everything, those bytes included. */
async function peek(source: Readable, size: number): Promise<{ head: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  while (bytes < size) {
    const next = await iterator.next();
    if (next.done) break;
    chunks.push(next.value);
    bytes += next.value.length;
  }
  const rest = async function* () {
    yield* chunks;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  };
  return { head: Buffer.concat(chunks).subarray(0, size), stream: Readable.from(rest(), { objectMode: false }) };
}

async function readArchive(source: Readable, name: string, visitor: BundleVisitor): Promise<ReadSummary> {
  let bytesRead = 0;
  source.on('data', (chunk: Buffer) => {
    bytesRead += chunk.length;
  });
  let peeked: { head: Buffer; stream: Readable };
  try {
    peeked = await peek(source, 512);
  } catch (error) {
    throw new InputUnreadableError(`${name}: cannot read it (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
  const format = sniff(peeked.head);
  if (format === 'unknown') {
    visitor.error({
      code: 'ENDIAG_NOT_AN_ARCHIVE',
      message: `${name} is neither gzip nor tar (no gzip magic bytes, no tar header); nothing could be read from it`,
    });
    return { kind: 'archive', bytesRead: 0, bytesUnpacked: 0 };
  }

  const tar = new Parser({ strict: false });
  const pending: Promise<void>[] = [];
  let bytesUnpacked = 0;
  let tarComplaint: string | undefined;
  let currentMember: string | undefined;

  tar.on('entry', (entry: ReadEntry) => {
    currentMember = entry.path;
    handleEntry(entry, visitor, pending);
  });
  // node-tar reports damage as warnings in non-strict mode; the last one names what was wrong.
  tar.on('warn', (code: string, message: string | Error) => {
    const text = typeof message === 'string' ? message : message.message;
    if (code === 'TAR_BAD_ARCHIVE' && /Truncated input/.test(text)) tarComplaint ??= 'truncated';
    else if (code === 'TAR_BAD_ARCHIVE' && /Unrecognized archive format/.test(text)) tarComplaint ??= 'unrecognized';
    else if (code === 'TAR_ENTRY_INVALID' || code === 'TAR_ENTRY_ERROR' || code === 'TAR_BAD_ARCHIVE') {
      visitor.error({
        code: 'ENDIAG_TAR_CORRUPT',
        member: currentMember,
        message: `tar damage${currentMember ? ` after member ${currentMember}` : ''}: ${text}; later members were still read where headers could be found`,
      });
    }
  });

  const fileStream = peeked.stream;
  const stream = format === 'gzip' ? fileStream.pipe(createGunzip({ chunkSize: 256 * 1024 })) : fileStream;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytesUnpacked += chunk.length;
      tar.write(chunk);
      if (pending.length > 0) await Promise.all(pending.splice(0));
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const where = currentMember ? ` inside ${currentMember}` : '';
    if (code === 'Z_BUF_ERROR') {
      visitor.error({
        code: 'ENDIAG_ARCHIVE_TRUNCATED',
        member: currentMember,
        message: `the gzip stream ends early, after ${formatBytes(bytesUnpacked)} unpacked${where}; members before it were read, the cut one is marked truncated`,
      });
    } else {
      visitor.error({
        code: 'ENDIAG_GZIP_CORRUPT',
        member: currentMember,
        message: `the gzip stream is corrupt after ${formatBytes(bytesUnpacked)} unpacked${where} (${(error as Error).message}); members before it were read`,
      });
    }
    tarComplaint = undefined;
  } finally {
    fileStream.destroy();
    source.destroy();
  }
  tar.end();
  if (pending.length > 0) await Promise.all(pending.splice(0));
  if (tarComplaint === 'truncated') {
    visitor.error({
      code: 'ENDIAG_ARCHIVE_TRUNCATED',
      member: currentMember,
      message: `the tar stream ends in the middle of ${currentMember ?? 'a member'}; members before it were read, the cut one is marked truncated`,
    });
  } else if (tarComplaint === 'unrecognized') {
    visitor.error({
      code: 'ENDIAG_NOT_AN_ARCHIVE',
      message: `${name} does not hold a tar archive${format === 'gzip' ? ' inside its gzip stream' : ''}`,
    });
  }
  return { kind: 'archive', bytesRead, bytesUnpacked };
}

function handleEntry(entry: ReadEntry, visitor: BundleVisitor, pending: Promise<void>[]): void {
  const name = entry.path;
  switch (entry.type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      break;
    case 'Directory':
    case 'GNUDumpDir':
      entry.resume();
      return;
    case 'SymbolicLink':
    case 'Link':
      visitor.error({
        code: 'ENDIAG_LINK_MEMBER',
        member: name,
        message: `${entry.type === 'Link' ? 'hard' : 'symbolic'} link to ${JSON.stringify(entry.linkpath ?? '')} ignored: links are never followed`,
      });
      entry.resume();
      return;
    default:
      visitor.error({
        code: 'ENDIAG_SPECIAL_MEMBER',
        member: name,
        message: `${entry.type} entry ignored: only regular files are read`,
      });
      entry.resume();
      return;
  }
  const declared = entry.size ?? 0;
  const sink = visitor.member({ name, size: declared, mtime: entry.mtime ?? undefined });
  if (!sink) {
    entry.resume();
    return;
  }
  let received = 0;
  entry.on('data', (chunk: Buffer) => {
    received += chunk.length;
    sink.write(chunk);
  });
  entry.on('end', () => {
    const done = sink.end({ truncated: received < declared });
    if (done) pending.push(done);
  });
}

async function readFolder(root: string, visitor: BundleVisitor): Promise<ReadSummary> {
  let bytesUnpacked = 0;
  const walk = async (folder: string): Promise<void> => {
    let entries: string[];
    try {
      const dir = await opendir(folder);
      entries = [];
      for await (const dirent of dir) entries.push(dirent.name);
    } catch (error) {
      visitor.error({
        code: 'ENDIAG_UNREADABLE_FILE',
        member: relative(root, folder),
        message: `folder cannot be listed (${(error as NodeJS.ErrnoException).code ?? error})`,
      });
      return;
    }
    entries.sort();
    for (const name of entries) {
      const path = join(folder, name);
      const member = relative(root, path).split(sep).join('/');
      const info = await lstat(path);
      if (info.isSymbolicLink()) {
        visitor.error({
          code: 'ENDIAG_LINK_MEMBER',
          member,
          message: 'symbolic link ignored: links are never followed',
        });
      } else if (info.isDirectory()) {
        await walk(path);
      } else if (!info.isFile()) {
        visitor.error({
          code: 'ENDIAG_SPECIAL_MEMBER',
          member,
          message: 'special file ignored: only regular files are read',
        });
      } else {
        const sink = visitor.member({ name: member, size: info.size, mtime: info.mtime });
        if (!sink) continue;
        let received = 0;
        try {
          for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
            received += chunk.length;
            sink.write(chunk);
          }
        } catch (error) {
          visitor.error({
            code: 'ENDIAG_UNREADABLE_FILE',
            member,
            message: `read failed after ${formatBytes(received)} (${(error as NodeJS.ErrnoException).code ?? error})`,
          });
        }
        bytesUnpacked += received;
        await sink.end({ truncated: received < info.size });
      }
    }
  };
  await walk(root);
  return { kind: 'folder', bytesRead: bytesUnpacked, bytesUnpacked };
}

function baseName(file: string): string {
  return file.split(/[\\/]/).pop() ?? file;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
