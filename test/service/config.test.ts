import { hostname } from 'node:os';
import { describe, expect, test } from '@jest/globals';
import { ConfigError, loadConfig, parseByteSize } from '../../service/config.js';

describe('configuration', () => {
  test('has working defaults: port 8080, the SQLite file, 1 MB bodies, one process', () => {
    const config = loadConfig({ API_TOKEN: 'x' });
    expect(config).toMatchObject({
      port: 8080,
      databaseUrl: './data/documents.sqlite',
      bodyLimitBytes: 1024 * 1024,
      webConcurrency: 1,
      shutdownDelayMs: 0,
      logLevel: 'info',
      instanceId: hostname(),
      apiTokens: ['x'],
      tokenGenerated: false,
    });
  });

  test('splits API_TOKEN on commas for rotation and ignores blanks', () => {
    expect(loadConfig({ API_TOKEN: ' old , new ,' }).apiTokens).toEqual(['old', 'new']);
  });

  test('generates a random token outside production when none is set', () => {
    const first = loadConfig({});
    const second = loadConfig({ API_TOKEN: '' });
    expect(first.tokenGenerated).toBe(true);
    expect(first.apiTokens[0]).toMatch(/^[\w-]{24,}$/);
    expect(second.apiTokens[0]).not.toBe(first.apiTokens[0]);
  });

  test('refuses to start in production without a token, saying which variable to set', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'production', API_TOKEN: ' ' })).toThrow(/API_TOKEN/);
  });

  test('treats empty variables from compose as unset', () => {
    const config = loadConfig({
      API_TOKEN: 't',
      INSTANCE_ID: '',
      DATABASE_URL: '',
      APP_VERSION: '',
    });
    expect(config.instanceId).toBe(hostname());
    expect(config.databaseUrl).toBe('./data/documents.sqlite');
    expect(config.appVersion).toBe('dev');
  });

  test.each([
    ['PORT', 'http'],
    ['PORT', '70000'],
    ['WEB_CONCURRENCY', '0'],
    ['BODY_LIMIT', 'lots'],
    ['LOG_LEVEL', 'loud'],
    ['SHUTDOWN_DELAY', '31'],
    ['SHUTDOWN_DELAY', '2s'],
    ['REQUEST_TIMEOUT', '10'],
    ['REQUEST_TIMEOUT', '2m'],
    ['MAX_CONNECTIONS', '0'],
    ['DATABASE_CONNECT_TIMEOUT_MS', '50'],
    ['DATABASE_QUERY_TIMEOUT_MS', 'soon'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ API_TOKEN: 't', [name]: value })).toThrow(new RegExp(name));
  });

  test('bounds requests, connections and database waits by default, and reads each bound', () => {
    expect(loadConfig({ API_TOKEN: 't' })).toMatchObject({
      requestTimeoutMs: 120_000,
      maxConnections: 10_000,
      databaseTimeouts: { connectMs: 3000, queryMs: 5000 },
    });
    const config = loadConfig({
      API_TOKEN: 't',
      REQUEST_TIMEOUT: '90',
      MAX_CONNECTIONS: '500',
      DATABASE_CONNECT_TIMEOUT_MS: '1500',
      DATABASE_QUERY_TIMEOUT_MS: '2500',
    });
    expect(config).toMatchObject({
      requestTimeoutMs: 90_000,
      maxConnections: 500,
      databaseTimeouts: { connectMs: 1500, queryMs: 2500 },
    });
  });

  test('reads SHUTDOWN_DELAY in seconds', () => {
    expect(loadConfig({ API_TOKEN: 't', SHUTDOWN_DELAY: '5' }).shutdownDelayMs).toBe(5000);
  });

  test.each([
    ['1048576', 1048576],
    ['512kb', 524288],
    ['1mb', 1048576],
    ['2 MB', 2097152],
    ['0', undefined],
    ['-1', undefined],
  ])('reads the size %s as %s bytes', (raw, bytes) => {
    expect(parseByteSize(raw)).toBe(bytes);
  });
});
