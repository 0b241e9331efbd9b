/**
 * The inventory: everything `eks-node-diag collect` gathers, one table joined from the areas, ordered by id.
 * "Where is X collected" is answered here; "where does it go in the bundle" by the contract paths the items name.
 */
import { cniItems } from './cni.ts';
import { kubeletRuntimeItems } from './kubelet-runtime.ts';
import { networkingItems } from './networking.ts';
import { systemItems } from './system.ts';
import type { CollectItem } from './types.ts';

export const inventory: readonly CollectItem[] = [
  ...kubeletRuntimeItems,
  ...cniItems,
  ...networkingItems,
  ...systemItems,
].sort((a, b) => a.id.localeCompare(b.id));

export function itemById(id: string): CollectItem | undefined {
  return inventory.find((item) => item.id === id);
}
