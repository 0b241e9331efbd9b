/** Reads single files out of a bundle in tests (the analyzer never extracts; tests sometimes need one file). */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import type { BundleManifest } from '../../contract/bundle.ts';

/** Every regular member of a (small) tar.gz, by name. */
export async function bundleMembers(file: string): Promise<Map<string, Buffer>> {
  const tar = gunzipSync(await readFile(file));
  const members = new Map<string, Buffer>();
  let at = 0;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    if (header.every((byte) => byte === 0)) break;
    const name = header.toString('utf8', 0, 100).replace(/\0.*$/s, '');
    const prefix = header.toString('utf8', 345, 500).replace(/\0.*$/s, '');
    const size = Number.parseInt(header.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
    const type = String.fromCharCode(header[156] ?? 48);
    const body = tar.subarray(at + 512, at + 512 + size);
    if (type === '0' || type === '\0') members.set(prefix ? `${prefix}/${name}` : name, body);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return members;
}

export async function readManifest(file: string): Promise<BundleManifest> {
  const manifest = (await bundleMembers(file)).get('manifest.json');
  if (!manifest) throw new Error(`${file} has no manifest.json`);
  return JSON.parse(manifest.toString('utf8')) as BundleManifest;
}
