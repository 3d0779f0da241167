/**
 * Network plumbing of the lab, all with iproute2 and all inside namespaces the lab creates: the root
 * namespace's links, addresses, routes and rules are never touched.
 *
 *   switch namespace  onair-<id>-sw:  bridge br0, one port per host (named after the host)
 *   host namespace    onair-<id>-<host>:  lo, eth0 (the other end of its port), its /24 address
 *
 * Cutting traffic needs no firewall (neither iptables nor nft is installed here, and the kernel has no
 * tc drop action): `partition` adds policy-routing rules of type blackhole in both hosts' namespaces —
 * "to <peer>" drops what the host sends to the peer, "from <peer> iif eth0" drops what arrives from it
 * (including what the peer sends to a VIP this host holds). For the second to work the host's `local`
 * lookup rule is moved from priority 0 to 1000, below ours, when the host is made; routing is
 * otherwise unchanged. `linkDown` is a pulled cable: the host's port on the bridge goes down, so eth0
 * loses carrier (keepalived sees the interface fail) while its addresses stay.
 */
import { existsSync } from 'node:fs';
import { ip, run } from './system.js';

export const BRIDGE = 'br0';
export const HOST_IF = 'eth0';
/** priority the `local` table lookup moves to in host namespaces, leaving 1..999 for partitions */
export const LOCAL_RULE_PREF = 1000;
export const PARTITION_PREF_BASE = 100;

export const namespaceExists = (ns: string): boolean => existsSync(`/run/netns/${ns}`);

/** Creates the namespace (refuses one that exists: it may be another lab's) with lo up. */
export async function createNamespace(ns: string): Promise<void> {
  await ip(['netns', 'add', ns]);
  await ip(['link', 'set', 'lo', 'up'], ns);
}

/** Deletes the namespace if it exists; its veth ends go with it (and so their peers). */
export async function deleteNamespace(ns: string): Promise<boolean> {
  if (!namespaceExists(ns)) return false;
  const result = await run('ip', ['netns', 'delete', ns]);
  return result.code === 0;
}

export async function createSwitch(ns: string): Promise<void> {
  await createNamespace(ns);
  await ip(['link', 'add', BRIDGE, 'type', 'bridge'], ns);
  await ip(['link', 'set', BRIDGE, 'up'], ns);
}

export interface SegmentHost {
  /** the host's namespace */
  namespace: string;
  /** the host's port on the bridge, in the switch namespace (≤ 15 characters) */
  port: string;
  address: string;
  prefix: number;
}

/** Creates the host's namespace and its link to the switch, addressed and up. */
export async function attachHost(switchNs: string, host: SegmentHost): Promise<void> {
  await createNamespace(host.namespace);
  await ip(['link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', host.port, 'netns', switchNs], host.namespace);
  await ip(['link', 'set', host.port, 'master', BRIDGE], switchNs);
  await ip(['link', 'set', host.port, 'up'], switchNs);
  await ip(['addr', 'add', `${host.address}/${host.prefix}`, 'dev', HOST_IF], host.namespace);
  await ip(['link', 'set', HOST_IF, 'up'], host.namespace);
  await ip(['rule', 'add', 'pref', String(LOCAL_RULE_PREF), 'lookup', 'local'], host.namespace);
  await ip(['rule', 'del', 'pref', '0', 'lookup', 'local'], host.namespace);
}

/** The IPv4 addresses on the host's eth0 (its own and any VIP it holds). */
export async function addressesOf(ns: string): Promise<string[]> {
  const out = await ip(['-j', 'addr', 'show', 'dev', HOST_IF], ns);
  const links = JSON.parse(out) as { addr_info?: { family: string; local: string }[] }[];
  return links.flatMap((link) => (link.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => a.local));
}

/** Is the host's port on the bridge up (its cable plugged)? */
export async function portIsUp(switchNs: string, port: string): Promise<boolean> {
  const out = await ip(['-j', 'link', 'show', 'dev', port], switchNs);
  const [link] = JSON.parse(out) as { flags?: string[] }[];
  return Boolean(link?.flags?.includes('UP'));
}

export const setPort = (switchNs: string, port: string, up: boolean): Promise<string> => ip(['link', 'set', port, up ? 'up' : 'down'], switchNs);

export interface PartitionEnd {
  namespace: string;
  address: string;
}

/** Blackhole rules at `pref` and `pref + 1` in both namespaces: no packet passes between the two. */
export async function cutBetween(a: PartitionEnd, b: PartitionEnd, pref: number): Promise<void> {
  for (const [self, peer] of [
    [a, b],
    [b, a],
  ] as const) {
    await ip(['rule', 'add', 'pref', String(pref), 'to', peer.address, 'blackhole'], self.namespace);
    await ip(['rule', 'add', 'pref', String(pref + 1), 'from', peer.address, 'iif', HOST_IF, 'blackhole'], self.namespace);
  }
}

/** Removes what cutBetween added (missing rules or namespaces are fine). */
export async function healBetween(a: PartitionEnd, b: PartitionEnd, pref: number): Promise<void> {
  for (const self of [a, b]) {
    if (!namespaceExists(self.namespace)) continue;
    for (const p of [pref, pref + 1]) await run('ip', ['-n', self.namespace, 'rule', 'del', 'pref', String(p)]);
  }
}
