export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  externalUrl: string;
  initialRootToken: string | undefined;
  logLevel: string;
  databasePoolMax: number;
}

export class ConfigError extends Error {}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

/** Reads and checks the environment once at start, so a typo fails loudly instead of at first use. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = int(env, 'PORT', 8080, 0, 65535);
  const host = env.HOST || '0.0.0.0';

  const databaseUrl = env.DATABASE_URL || 'sqlite:./data/relinks.db';
  if (!/^sqlite:.+/.test(databaseUrl) && !/^postgres(ql)?:\/\/.+/.test(databaseUrl)) {
    throw new ConfigError(`DATABASE_URL must be sqlite:<path> or postgres://…, got "${databaseUrl}"`);
  }

  const externalUrl = (env.EXTERNAL_URL || `http://localhost:${port}`).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(externalUrl);
  } catch {
    throw new ConfigError(`EXTERNAL_URL must be an absolute http(s) URL, got "${externalUrl}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`EXTERNAL_URL must use http or https, got "${externalUrl}"`);
  }

  const initialRootToken = env.RELINKS_INITIAL_ROOT_TOKEN || undefined;
  if (initialRootToken !== undefined && initialRootToken.length < 20) {
    throw new ConfigError('RELINKS_INITIAL_ROOT_TOKEN must be at least 20 characters long');
  }

  const logLevel = env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }

  const databasePoolMax = int(env, 'DATABASE_POOL_MAX', 10, 1, 1000);

  return { port, host, databaseUrl, externalUrl, initialRootToken, logLevel, databasePoolMax };
}
