import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

// A hook's token and custom header values must be sent, so they cannot be kept as digests the way
// access tokens are. With WEBHOOK_SECRET_KEY set they are kept encrypted (AES-256-GCM, as GitLab
// keeps them with attr_encrypted); without it, as given. A value written encrypted needs the key
// to be read again: without it, its deliveries fail and say so.

const PREFIX = 'enc:v1:';

const keyOf = (secret: string) => createHash('sha256').update(secret).digest();

export function seal(value: string, secretKey: string | undefined): string {
  if (!secretKey) return value;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(secretKey), iv);
  const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

export class SealedSecret extends Error {}

export function unseal(stored: string, secretKey: string | undefined): string {
  if (!stored.startsWith(PREFIX)) return stored;
  if (!secretKey) throw new SealedSecret('The hook\'s secrets are encrypted and WEBHOOK_SECRET_KEY is not set');
  const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyOf(secretKey), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new SealedSecret('The hook\'s secrets cannot be read with this WEBHOOK_SECRET_KEY');
  }
}
