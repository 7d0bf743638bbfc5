import dns from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import type { HostLookup } from '../../config.js';

// GitLab's URL blocker for webhooks (Gitlab::HTTP_V2::UrlBlocker): only http and https, and, unless
// the local network is allowed, no address of this host, loopback, private (RFC 1918, IPv6 unique
// and site local), link-local, shared (100.64/10) or broadcast. Names are resolved and every
// address is checked; the delivery then connects to the checked address itself, so a name that
// resolves elsewhere a moment later (DNS rebinding) cannot lead the request inside.

export class BlockedUrl extends Error {}

export interface Target {
  url: URL;
  /** The address to connect to: checked, and pinned for the request. */
  address: string;
  family: 4 | 6;
}

/** `::ffff:10.0.0.1` and other IPv4-mapped IPv6 addresses are checked as the IPv4 address they are. */
function unmapped(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex) {
    const a = parseInt(hex[1], 16);
    const b = parseInt(hex[2], 16);
    return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  return address;
}

function v4Number(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

const inV4 = (address: string, base: string, bits: number) => {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((v4Number(address) & mask) >>> 0) === ((v4Number(base) & mask) >>> 0);
};

/** The first 16 bits of an IPv6 address, for prefix checks of /7 and /10. */
function v6Head(address: string): number {
  const first = address.toLowerCase().split(':')[0];
  return first === '' ? 0 : parseInt(first, 16);
}

function localAddresses(): Set<string> {
  const found = new Set(['0.0.0.0', '::']);
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) found.add(a.address.replace(/%.*$/, ''));
  return found;
}

/** Why GitLab would refuse this address with the local network not allowed; null when it would not. */
export function blockedReason(raw: string): string | null {
  const address = unmapped(raw.replace(/%.*$/, ''));
  if (localAddresses().has(address)) return 'Requests to localhost are not allowed';
  if (net.isIPv4(address)) {
    if (inV4(address, '127.0.0.0', 8)) return 'Requests to loopback addresses are not allowed';
    if (inV4(address, '10.0.0.0', 8) || inV4(address, '172.16.0.0', 12) || inV4(address, '192.168.0.0', 16)) return 'Requests to the local network are not allowed';
    if (inV4(address, '169.254.0.0', 16)) return 'Requests to the link local network are not allowed';
    if (inV4(address, '100.64.0.0', 10)) return 'Requests to the shared address space are not allowed';
    if (address === '255.255.255.255') return 'Requests to the limited broadcast address are not allowed';
    // 0.0.0.0/8 is "this network": connecting there reaches this host.
    if (inV4(address, '0.0.0.0', 8)) return 'Requests to localhost are not allowed';
    return null;
  }
  if (net.isIPv6(address)) {
    const normalized = address.toLowerCase();
    if (normalized === '::1' || /^0*:0*:0*:0*:0*:0*:0*:0*1$/.test(normalized)) return 'Requests to loopback addresses are not allowed';
    const head = v6Head(normalized);
    if ((head & 0xfe00) === 0xfc00 || (head & 0xffc0) === 0xfec0) return 'Requests to the local network are not allowed';
    if ((head & 0xffc0) === 0xfe80) return 'Requests to the link local network are not allowed';
    return null;
  }
  return null;
}

export function parseHookUrl(raw: string): URL {
  if (/[\r\n]/.test(raw)) throw new BlockedUrl('URI is invalid');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BlockedUrl('URI is invalid');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BlockedUrl('Only allowed schemes are http, https');
  if (!url.hostname) throw new BlockedUrl('URI is invalid');
  return url;
}

/** An IP literal as the URL holds it (IPv6 in brackets), or null for a name. */
function literalOf(url: URL): string | null {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return net.isIP(host) ? host : null;
}

/** A name that does not resolve this fast when a hook is saved counts as not resolving. */
const SAVE_LOOKUP_MS = 5000;

const systemLookup: HostLookup = (host) => dns.lookup(host, { all: true, verbatim: true });

/**
 * The check when a hook is saved. As GitLab's validation there, a name that does not resolve now
 * is accepted (it is checked again, and must resolve, at every delivery).
 */
export async function checkHookUrl(raw: string, allowLocal: boolean, lookup: HostLookup = systemLookup): Promise<void> {
  const url = parseHookUrl(raw);
  if (allowLocal) return;
  const literal = literalOf(url);
  let addresses: string[];
  if (literal) addresses = [literal];
  else {
    try {
      addresses = (await Promise.race([lookup(url.hostname), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('slow')), SAVE_LOOKUP_MS).unref())])).map((a) => a.address);
    } catch {
      return;
    }
  }
  for (const address of addresses) {
    const reason = blockedReason(address);
    if (reason) throw new BlockedUrl(reason);
  }
}

/** The check before each attempt: the name must resolve, every address must pass, and the first is used. */
export async function resolveTarget(raw: string, allowLocal: boolean, lookup: HostLookup = systemLookup): Promise<Target> {
  const url = parseHookUrl(raw);
  const literal = literalOf(url);
  let found: Array<{ address: string; family: number }>;
  if (literal) found = [{ address: literal, family: net.isIP(literal) }];
  else {
    try {
      found = await lookup(url.hostname);
    } catch {
      throw new BlockedUrl('Host cannot be resolved or invalid');
    }
    if (found.length === 0) throw new BlockedUrl('Host cannot be resolved or invalid');
  }
  if (!allowLocal) {
    for (const { address } of found) {
      const reason = blockedReason(address);
      if (reason) throw new BlockedUrl(reason);
    }
  }
  const [first] = found;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
