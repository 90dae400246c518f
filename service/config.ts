import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** Everything the service reads from its environment, validated once at start. */
export interface Config {
  port: number;
  /** Accepted bearer tokens; several during a rotation. Never empty once loaded. */
  apiTokens: string[];
  /** True when no API_TOKEN was given and one was generated for this run (never in production). */
  tokenGenerated: boolean;
  /** `postgres://…` for the shared store, otherwise a SQLite file path. */
  databaseUrl: string;
  appVersion: string;
  instanceId: string;
  bodyLimitBytes: number;
  logLevel: string;
  webConcurrency: number;
  /** SHUTDOWN_DELAY: seconds the service keeps serving after /ready turns 503 on SIGTERM. */
  shutdownDelayMs: number;
  /** REQUEST_TIMEOUT: seconds a client has to send a whole request (headers and body). */
  requestTimeoutMs: number;
  /** MAX_CONNECTIONS: open client connections this process accepts at once. */
  maxConnections: number;
  /** PostgreSQL only: how long to wait for a connection, and for one statement's answer. */
  databaseTimeouts: { connectMs: number; queryMs: number };
  production: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const DEFAULT_SQLITE_FILE = './data/documents.sqlite';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Record<string, string | undefined>;

/** Empty strings count as unset: compose passes `${VAR}` through as '' when VAR is missing. */
function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `1048576`, `512kb`, `1mb`, `1 MB` → bytes. */
export function parseByteSize(raw: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(raw.trim());
  if (!match) return undefined;
  const bytes = Math.floor(Number(match[1]) * UNITS[(match[2] ?? 'b').toLowerCase()]!);
  return bytes > 0 ? bytes : undefined;
}

export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

export function loadConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === 'production';
  const apiTokens = (read(env, 'API_TOKEN') ?? '')
    .split(',')
    .map((token) => token.trim())
    .filter(Boolean);
  let tokenGenerated = false;
  if (apiTokens.length === 0) {
    if (production) {
      throw new ConfigError(
        'API_TOKEN is not set. With NODE_ENV=production the service refuses to start without ' +
          'one, because writes would be either open or impossible. Set API_TOKEN to a long random ' +
          'secret (several, comma-separated, while rotating).',
      );
    }
    apiTokens.push(generateToken());
    tokenGenerated = true;
  }

  const bodyLimitRaw = read(env, 'BODY_LIMIT');
  const bodyLimitBytes = bodyLimitRaw === undefined ? 1024 ** 2 : parseByteSize(bodyLimitRaw);
  if (bodyLimitBytes === undefined) {
    throw new ConfigError(`BODY_LIMIT must be a size such as 1mb or 524288, got "${bodyLimitRaw}"`);
  }

  const logLevel = read(env, 'LOG_LEVEL')?.toLowerCase() ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }

  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    apiTokens,
    tokenGenerated,
    databaseUrl: read(env, 'DATABASE_URL') ?? DEFAULT_SQLITE_FILE,
    appVersion: read(env, 'APP_VERSION') ?? 'dev',
    instanceId: read(env, 'INSTANCE_ID') ?? hostname(),
    bodyLimitBytes,
    logLevel,
    webConcurrency: integer(env, 'WEB_CONCURRENCY', 1, 1, 64),
    shutdownDelayMs: integer(env, 'SHUTDOWN_DELAY', 0, 0, 30) * 1000,
    // Node's default is 300 s. It must not be below the headers timeout (66 s, server.ts).
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT', 120, 66, 3600) * 1000,
    maxConnections: integer(env, 'MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    databaseTimeouts: {
      connectMs: integer(env, 'DATABASE_CONNECT_TIMEOUT_MS', 3000, 100, 600_000),
      queryMs: integer(env, 'DATABASE_QUERY_TIMEOUT_MS', 5000, 100, 600_000),
    },
    production,
  };
}
