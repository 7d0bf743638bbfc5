import { Writable } from 'node:stream';

// Every credential the tests send or receive, and a log sink that fails the run when one of them
// reaches a log line. Test servers log at trace level into this sink, so the whole suite's traffic
// is checked, not only a sample built for the purpose.

const secrets = new Set<string>();
/** Short values ("x", "bad") would match ordinary log text; real tokens are longer. */
const MIN_LENGTH = 8;
const SECRET_FIELD = /token|password|secret/i;

export function rememberSecret(value: unknown): void {
  if (typeof value === 'string' && value.length >= MIN_LENGTH) secrets.add(value);
}

/** The credentials in a header set: token headers, Bearer tokens and Basic passwords. */
export function rememberHeaderSecrets(headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower === 'private-token' || lower === 'job-token' || lower === 'cookie') rememberSecret(value);
    if (lower === 'authorization') {
      const [scheme, credential = ''] = value.split(/\s+/, 2);
      rememberSecret(credential);
      if (/^basic$/i.test(scheme)) rememberSecret(Buffer.from(credential, 'base64').toString().split(':').slice(1).join(':'));
    }
  }
}

/** Values of secret-named fields anywhere in a parsed body or query. */
export function rememberFieldSecrets(input: unknown, depth = 0): void {
  if (!input || typeof input !== 'object' || depth > 6) return;
  for (const [key, value] of Object.entries(input)) {
    if (SECRET_FIELD.test(key)) rememberSecret(value);
    // A webhook's custom headers carry credentials (Authorization, API keys) in their values.
    if (key === 'custom_headers' && Array.isArray(value)) for (const header of value) rememberSecret((header as { value?: unknown })?.value);
    rememberFieldSecrets(value, depth + 1);
  }
}

export function rememberUrlSecrets(url: string): void {
  const q = url.indexOf('?');
  if (q < 0) return;
  for (const [key, value] of new URLSearchParams(url.slice(q + 1))) if (SECRET_FIELD.test(key)) rememberSecret(value);
}

/** The known secrets found in `text`, masked so the failure message does not repeat them. */
export function leakedSecrets(text: string): string[] {
  const found: string[] = [];
  for (const secret of secrets) if (text.includes(secret)) found.push(`${secret.slice(0, 4)}…(${secret.length} chars)`);
  return found;
}

const maskSecrets = (text: string): string => {
  let masked = text;
  for (const secret of secrets) masked = masked.replaceAll(secret, '<LEAKED>');
  return masked;
};

/**
 * A logged request URL keeps only its secret-named parameters for the scan: a token the client
 * put in a path segment or an ordinary parameter (the fuzz does) is data it chose to send, not a
 * credential, and the server cannot tell it from any other value.
 */
function credentialPartsOf(line: string): string {
  if (!line.includes('"req":{')) return line;
  try {
    const entry = JSON.parse(line);
    const url: string = entry.req?.url ?? '';
    const q = url.indexOf('?');
    entry.req.url = q < 0 ? '' : url.slice(q + 1).split('&').filter((pair) => SECRET_FIELD.test(pair.split('=')[0])).join('&');
    return JSON.stringify(entry);
  } catch {
    return line;
  }
}

/** A pino destination that keeps the log lines holding a known secret. */
export function secretScanningLog(): { stream: Writable; leaks: string[] } {
  const leaks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      const line = credentialPartsOf(chunk.toString());
      const found = leakedSecrets(line);
      if (found.length) leaks.push(`${found.join(', ')} in: ${maskSecrets(line).slice(0, 400)}`);
      done();
    },
  });
  return { stream, leaks };
}
