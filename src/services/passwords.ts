import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// Passwords are stored as scrypt digests (Node's own, memory-hard), with their parameters in the
// stored string, so the cost can be raised later and old digests still verify; a sign-in with an
// older cost stores the password again at the current one (see needsRehash).
//
//   scrypt$v1$N=32768,r=8,p=1$<salt, base64>$<key, base64>
//
// N=2^15, r=8, p=1 is 32 MiB and some 150 ms on a small server: expensive for a guesser, cheap
// enough for a sign-in. Run on libuv's thread pool, so a sign-in never blocks other requests.
// The first digests relinks stored were `scrypt$<salt>$<key>` at Node's default cost (N=2^14).

const CURRENT = { N: 2 ** 15, r: 8, p: 1 } as const;
const LEGACY = { N: 2 ** 14, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

export const MIN_PASSWORD_LENGTH = 8;
/** Devise's upper bound, which GitLab keeps: scrypt would take longer ones, but nothing needs them. */
export const MAX_PASSWORD_LENGTH = 128;

interface Parsed {
  /** The first format hashed the password as typed. */
  legacy?: boolean;
  cost: { N: number; r: number; p: number };
  salt: Buffer;
  key: Buffer;
}

function derive(password: string, salt: Buffer, cost: Parsed['cost'], normalize = true): Promise<Buffer> {
  // maxmem: 128 * N * r bytes are needed, a little more than Node's 32 MiB default allows at N=2^15.
  const options: ScryptOptions = { ...cost, maxmem: 256 * cost.N * cost.r };
  // NFKC: the same password typed on another keyboard or system is the same password.
  const input = normalize ? password.normalize('NFKC') : password;
  return new Promise((resolve, reject) => scrypt(input, salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key))));
}

function parse(digest: string): Parsed | null {
  const parts = digest.split('$');
  if (parts.length === 3 && parts[0] === 'scrypt') {
    return { legacy: true, cost: LEGACY, salt: Buffer.from(parts[1], 'base64'), key: Buffer.from(parts[2], 'base64') };
  }
  if (parts.length === 5 && parts[0] === 'scrypt' && parts[1] === 'v1') {
    const m = /^N=(\d+),r=(\d+),p=(\d+)$/.exec(parts[2]);
    if (!m) return null;
    return { cost: { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) }, salt: Buffer.from(parts[3], 'base64'), key: Buffer.from(parts[4], 'base64') };
  }
  return null;
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, CURRENT);
  return `scrypt$v1$N=${CURRENT.N},r=${CURRENT.r},p=${CURRENT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** A digest of a password nobody has: checked when there is no user, so that takes as long as a wrong password. */
let decoy: Promise<string> | undefined;

/** True when `password` is the one `digest` was made from. With no digest, spends the same time and says false. */
export async function verifyPassword(password: string, digest: string | null): Promise<boolean> {
  const parsed = digest ? parse(digest) : null;
  if (!parsed) {
    decoy ??= hashPassword(randomBytes(16).toString('hex'));
    const stand = parse(await decoy)!;
    await derive(password, stand.salt, stand.cost);
    return false;
  }
  const key = await derive(password, parsed.salt, parsed.cost, !parsed.legacy);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

/** A digest made at less than today's cost (or in the first format). */
export function needsRehash(digest: string): boolean {
  const parsed = parse(digest);
  return !parsed || parsed.legacy === true || parsed.cost.N < CURRENT.N || parsed.cost.r < CURRENT.r || parsed.cost.p < CURRENT.p;
}
