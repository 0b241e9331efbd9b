/**
 * ipamd's introspection documents (`ipamd/enis.json` = `/v1/enis`, `ipamd/pods.json` = `/v1/pods`) in every shape
 * they have had, read into one view. The JSON arrives as `document` events of the json-document parser; these
 * functions only interpret values and never throw.
 *
 * `/v1/enis` shapes (pkg/ipamd/datastore/data_store.go at each tag; reference/collectors.md §2.2):
 * - before v1.7: `{TotalIPs, AssignedIPs, ENIIPPools: {eni: {ID, IsPrimary, DeviceNumber, AssignedIPv4Addresses,
 *   IPv4Addresses: {ip: {Address, Assigned, UnassignedTime}}}}}`;
 * - v1.7–v1.8: `{TotalIPs, AssignedIPs, ENIs: {eni: {ID, IsPrimary, IsTrunk, IsEFA, DeviceNumber,
 *   IPv4Addresses: {ip: {Address, IPAMKey, UnassignedTime}}}}}`;
 * - v1.9–v1.19: the same bare `ENIInfos`, each ENI with `AvailableIPv4Cidrs: {"a.b.c.d/32"|"a.b.c.d/28": {Cidr,
 *   IPv4Addresses (v1.9) | IPAddresses (v1.10+), IsPrefix}}` and from v1.10 `IPv6Cidrs`; /28 keys are prefixes
 *   (prefix delegation) worth 16 addresses each;
 * - v1.20+: a map keyed by network card index (`{"0": ENIInfos, "1": ...}`), ENIs with `SubnetID`,
 *   `RouteTableID`, `IsExcludedForPodIPs`;
 * - v1.23+: `IPAMKey.containerID` and `ifName` blanked, so "assigned" comes from `IPAMKey.networkName`, then
 *   `IPAMMetadata` (pod name), then `AssignedTime` later than `UnassignedTime`.
 * Since v1.7 an unknown path (such as the removed `/v1/pods`) answers `{"AvailableCommands":[...]}`: not data.
 */

export type EniShape = 'eni-ip-pools' | 'ipv4-addresses' | 'cidrs' | 'bare-empty' | 'network-cards';

/** The VPC CNI versions that return each shape, as the report names them. */
export const ENI_SHAPE_VERSIONS: Record<EniShape, string> = {
  'eni-ip-pools': 'VPC CNI before v1.7 (ENIIPPools)',
  'ipv4-addresses': 'VPC CNI v1.7–v1.8 (IPv4Addresses)',
  cidrs: 'VPC CNI v1.9–v1.19 (AvailableIPv4Cidrs)',
  'bare-empty': 'VPC CNI v1.7–v1.19 (no ENIs)',
  'network-cards': 'VPC CNI v1.20+ (per network card)',
};

export interface EniView {
  id: string;
  primary: boolean;
  deviceNumber?: number;
  networkCard: number;
  subnetId?: string;
  trunk: boolean;
  efa: boolean;
  excludedForPods: boolean;
  /** IPv4 addresses the ENI can give pods: one per secondary IP, 16 per /28 prefix. */
  totalIps: number;
  assignedIps: number;
  /** Secondary IPv4 addresses (`/32` entries). */
  secondaryIps: number;
  /** IPv4 prefixes (prefix delegation), e.g. `10.0.1.16/28`. */
  prefixes: string[];
  ipv6Prefixes: string[];
  assignedIpv6: number;
}

export interface EniSnapshot {
  shape: EniShape;
  enis: EniView[];
  /** Summed over ENIs (and network cards). */
  totalIps: number;
  assignedIps: number;
  /** `TotalIPs`/`AssignedIPs` as ipamd reported them, summed over network cards, when present. */
  reported?: { totalIps: number; assignedIps: number };
  /** At least one IPv4 prefix is attached. */
  prefixDelegation: boolean;
  /** v1.23+ scrubbing seen: assignments were read from networkName, metadata or AssignedTime. */
  scrubbed: boolean;
}

export type EniDocument =
  | { kind: 'enis'; snapshot: EniSnapshot }
  | { kind: 'available-commands'; commands: string[] }
  | { kind: 'unrecognized'; reason: string };

export interface PodIp {
  /** `<pod>_<namespace>_<sandbox>` as ipamd keyed it. */
  key: string;
  ip: string;
  deviceNumber?: number;
}

export type PodsDocument =
  | { kind: 'pods'; pods: PodIp[] }
  | { kind: 'available-commands'; commands: string[] }
  | { kind: 'unrecognized'; reason: string };

const IPV4_PREFIX_SIZE_DEFAULT = 16;

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectOrEmpty(value: unknown): JsonObject {
  return isObject(value) ? value : {};
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function int(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The `{"AvailableCommands":[...]}` answer ipamd gives for any path it does not serve (v1.7+). */
export function availableCommandsOf(value: unknown): string[] | undefined {
  if (!isObject(value) || !Array.isArray(value.AvailableCommands)) return undefined;
  return value.AvailableCommands.filter((command): command is string => typeof command === 'string');
}

function timeOf(value: unknown): number | undefined {
  const text = str(value);
  if (text === '' || text.startsWith('0001-01-01')) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

interface AddressJudgement {
  assigned: boolean;
  /** The assignment was read without a container id (v1.23+ scrubbing). */
  scrubbed: boolean;
}

/** Whether one `AddressInfo` is assigned to a pod, across versions. */
function judgeAddress(info: unknown): AddressJudgement {
  if (!isObject(info)) return { assigned: false, scrubbed: false };
  if (typeof info.Assigned === 'boolean') return { assigned: info.Assigned, scrubbed: false };
  const key = objectOrEmpty(info.IPAMKey);
  if (str(key.containerID) !== '' || str(key.ifName) !== '') return { assigned: true, scrubbed: false };
  if (str(key.networkName) !== '') return { assigned: true, scrubbed: true };
  const metadata = objectOrEmpty(info.IPAMMetadata);
  if (str(metadata.k8sPodName) !== '') return { assigned: true, scrubbed: true };
  const assignedAt = timeOf(info.AssignedTime);
  if (assignedAt !== undefined) {
    const unassignedAt = timeOf(info.UnassignedTime);
    const assigned = unassignedAt === undefined || assignedAt > unassignedAt;
    return { assigned, scrubbed: assigned };
  }
  return { assigned: false, scrubbed: false };
}

/** `10.0.1.16/28` → 28; the mask (`////8A==`, base64 of the mask bytes) when the key has no length. */
function prefixLength(key: string, cidr: unknown): number | undefined {
  const slash = key.lastIndexOf('/');
  if (slash >= 0) {
    const length = Number(key.slice(slash + 1));
    if (Number.isInteger(length) && length >= 0 && length <= 128) return length;
  }
  const mask = str(objectOrEmpty(cidr).Mask);
  if (mask === '') return undefined;
  const bytes = Buffer.from(mask, 'base64');
  let bits = 0;
  for (const byte of bytes) bits += byte.toString(2).replaceAll('0', '').length;
  return bytes.length > 0 ? bits : undefined;
}

function cidrText(key: string, cidr: unknown): string {
  if (key.includes('/')) return key;
  const ip = str(objectOrEmpty(cidr).IP);
  const length = prefixLength(key, cidr);
  return ip !== '' && length !== undefined ? `${ip}/${length}` : key;
}

interface Tally {
  scrubbed: boolean;
}

function baseView(id: string, eni: JsonObject, networkCard: number): EniView {
  const view: EniView = {
    id: str(eni.ID) || id,
    primary: eni.IsPrimary === true,
    networkCard,
    trunk: eni.IsTrunk === true,
    efa: eni.IsEFA === true,
    excludedForPods: eni.IsExcludedForPodIPs === true,
    totalIps: 0,
    assignedIps: 0,
    secondaryIps: 0,
    prefixes: [],
    ipv6Prefixes: [],
    assignedIpv6: 0,
  };
  const device = int(eni.DeviceNumber);
  if (device !== undefined) view.deviceNumber = device;
  const subnet = str(eni.SubnetID);
  if (subnet !== '') view.subnetId = subnet;
  return view;
}

/** Before v1.7 and v1.7–v1.8: one entry per secondary IP in `IPv4Addresses`. */
function readAddressMapEni(id: string, eni: JsonObject, networkCard: number, tally: Tally): EniView {
  const view = baseView(id, eni, networkCard);
  for (const info of Object.values(objectOrEmpty(eni.IPv4Addresses))) {
    view.totalIps++;
    view.secondaryIps++;
    const judged = judgeAddress(info);
    if (judged.assigned) view.assignedIps++;
    if (judged.scrubbed) tally.scrubbed = true;
  }
  // Pre-1.7 kept its own count; older builds did not export the per-address flag.
  const counted = int(eni.AssignedIPv4Addresses);
  if (counted !== undefined && counted > view.assignedIps) view.assignedIps = counted;
  return view;
}

/** v1.9+: `AvailableIPv4Cidrs` of /32 addresses and /28 prefixes, and `IPv6Cidrs`. */
function readCidrEni(id: string, eni: JsonObject, networkCard: number, tally: Tally): EniView {
  const view = baseView(id, eni, networkCard);
  for (const [key, value] of Object.entries(objectOrEmpty(eni.AvailableIPv4Cidrs))) {
    const cidr = objectOrEmpty(value);
    const length = prefixLength(key, cidr.Cidr);
    const isPrefix = cidr.IsPrefix === true || (length !== undefined && length < 32);
    if (isPrefix) {
      view.prefixes.push(cidrText(key, cidr.Cidr));
      view.totalIps +=
        length !== undefined && length >= 16 && length < 32 ? 2 ** (32 - length) : IPV4_PREFIX_SIZE_DEFAULT;
    } else {
      view.secondaryIps++;
      view.totalIps++;
    }
    for (const info of Object.values(objectOrEmpty(cidr.IPAddresses ?? cidr.IPv4Addresses))) {
      const judged = judgeAddress(info);
      if (judged.assigned) view.assignedIps++;
      if (judged.scrubbed) tally.scrubbed = true;
    }
  }
  for (const [key, value] of Object.entries(objectOrEmpty(eni.IPv6Cidrs))) {
    const cidr = objectOrEmpty(value);
    view.ipv6Prefixes.push(cidrText(key, cidr.Cidr));
    for (const info of Object.values(objectOrEmpty(cidr.IPAddresses))) {
      const judged = judgeAddress(info);
      if (judged.assigned) view.assignedIpv6++;
      if (judged.scrubbed) tally.scrubbed = true;
    }
  }
  return view;
}

function isEniInfos(value: unknown): value is JsonObject {
  return isObject(value) && ('ENIs' in value || 'ENIIPPools' in value || typeof value.TotalIPs === 'number');
}

function snapshotOf(shape: EniShape, enis: EniView[], infos: JsonObject[], tally: Tally): EniSnapshot {
  const snapshot: EniSnapshot = {
    shape,
    enis: enis.sort((a, b) => a.networkCard - b.networkCard || (a.deviceNumber ?? 0) - (b.deviceNumber ?? 0)),
    totalIps: enis.reduce((sum, eni) => sum + eni.totalIps, 0),
    assignedIps: enis.reduce((sum, eni) => sum + eni.assignedIps, 0),
    prefixDelegation: enis.some((eni) => eni.prefixes.length > 0),
    scrubbed: tally.scrubbed,
  };
  const totals = infos.map((info) => int(info.TotalIPs));
  const assigned = infos.map((info) => int(info.AssignedIPs));
  if (infos.length > 0 && totals.every((n) => n !== undefined) && assigned.every((n) => n !== undefined)) {
    snapshot.reported = {
      totalIps: totals.reduce<number>((sum, n) => sum + (n ?? 0), 0),
      assignedIps: assigned.reduce<number>((sum, n) => sum + (n ?? 0), 0),
    };
  }
  return snapshot;
}

function readBareInfos(infos: JsonObject, networkCard: number, tally: Tally): { shape: EniShape; enis: EniView[] } {
  if (isObject(infos.ENIIPPools)) {
    return {
      shape: 'eni-ip-pools',
      enis: Object.entries(infos.ENIIPPools).map(([id, eni]) =>
        readAddressMapEni(id, objectOrEmpty(eni), networkCard, tally),
      ),
    };
  }
  const entries = Object.entries(objectOrEmpty(infos.ENIs)).map(([id, eni]) => [id, objectOrEmpty(eni)] as const);
  const usesCidrs = entries.some(([, eni]) => 'AvailableIPv4Cidrs' in eni);
  const usesAddresses = entries.some(([, eni]) => 'IPv4Addresses' in eni);
  const shape: EniShape = usesCidrs
    ? 'cidrs'
    : usesAddresses
      ? 'ipv4-addresses'
      : entries.length > 0
        ? 'cidrs'
        : 'bare-empty';
  return {
    shape,
    enis: entries.map(([id, eni]) =>
      'AvailableIPv4Cidrs' in eni || !('IPv4Addresses' in eni)
        ? readCidrEni(id, eni, networkCard, tally)
        : readAddressMapEni(id, eni, networkCard, tally),
    ),
  };
}

/** Reads one `/v1/enis` document (one `document` event of `ipamd-enis`). */
export function readEniDocument(value: unknown): EniDocument {
  const commands = availableCommandsOf(value);
  if (commands) return { kind: 'available-commands', commands };
  if (!isObject(value)) {
    return {
      kind: 'unrecognized',
      reason: `expected a JSON object, found ${Array.isArray(value) ? 'an array' : typeof value}`,
    };
  }
  const tally: Tally = { scrubbed: false };
  if (isEniInfos(value)) {
    const { shape, enis } = readBareInfos(value, 0, tally);
    return { kind: 'enis', snapshot: snapshotOf(shape, enis, [value], tally) };
  }
  const cards = Object.entries(value);
  if (cards.length > 0 && cards.every(([key, infos]) => /^\d+$/.test(key) && isEniInfos(infos))) {
    const enis: EniView[] = [];
    const infosList: JsonObject[] = [];
    for (const [key, infos] of cards) {
      const card = infos as JsonObject;
      infosList.push(card);
      enis.push(...readBareInfos(card, Number(key), tally).enis);
    }
    return { kind: 'enis', snapshot: snapshotOf('network-cards', enis, infosList, tally) };
  }
  const keys = Object.keys(value).slice(0, 5).join(', ');
  return {
    kind: 'unrecognized',
    reason: keys === '' ? 'an empty JSON object' : `a JSON object with keys ${keys}, not ENI data`,
  };
}

/** Reads one `/v1/pods` document: pod data before v1.7, the `AvailableCommands` fallback since. */
export function readPodsDocument(value: unknown): PodsDocument {
  const commands = availableCommandsOf(value);
  if (commands) return { kind: 'available-commands', commands };
  if (!isObject(value)) return { kind: 'unrecognized', reason: 'expected a JSON object' };
  const pods: PodIp[] = [];
  for (const [key, entry] of Object.entries(value)) {
    if (!isObject(entry) || typeof entry.IP !== 'string') {
      return { kind: 'unrecognized', reason: `entry ${JSON.stringify(key)} has no IP` };
    }
    const pod: PodIp = { key, ip: entry.IP };
    const device = int(entry.DeviceNumber);
    if (device !== undefined) pod.deviceNumber = device;
    pods.push(pod);
  }
  return { kind: 'pods', pods };
}

/** `eni-0abc: 14/16 IPs assigned, 1 prefix` for evidence notes and tables. */
export function describeEni(eni: EniView): string {
  const parts = [`${eni.assignedIps}/${eni.totalIps} IPs assigned`];
  if (eni.prefixes.length > 0) parts.push(`${eni.prefixes.length} prefix${eni.prefixes.length === 1 ? '' : 'es'}`);
  if (eni.primary) parts.push('primary');
  if (eni.trunk) parts.push('trunk');
  if (eni.excludedForPods) parts.push('excluded from pod IPs');
  return `${eni.id}: ${parts.join(', ')}`;
}
