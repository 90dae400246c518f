// The engine proxy passes Docker API traffic through unchanged, except container links.
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startEngineProxy, type EngineProxy } from './engine-proxy.js';

describe('engine proxy', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'engine-proxy-'));
  const received: Array<{ url: string; body: string }> = [];
  let upstream: http.Server;
  const upstreamStreams: net.Socket[] = [];
  let proxy: EngineProxy;

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ url: req.url ?? '', body });
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end('{"Id":"abc"}');
      });
    });
    // Like attach: 101, then a raw stream (here an echo).
    upstream.on('upgrade', (_req, socket: net.Socket) => {
      upstreamStreams.push(socket);
      socket.write('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
      socket.on('data', (chunk) => socket.write(chunk));
    });
    const socket = path.join(dir, 'engine.sock');
    await new Promise<void>((resolve) => upstream.listen(socket, resolve));
    proxy = await startEngineProxy(socket, path.join(dir, 'proxy.sock'));
  });

  afterAll(async () => {
    await proxy.close();
    await new Promise((resolve) => {
      upstream.close(resolve);
      upstream.closeAllConnections();
      for (const socket of upstreamStreams) socket.destroy();
    });
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (url: string, body: unknown): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: path.join(dir, 'proxy.sock'),
          path: url,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });

  it('removes the links compose run adds to a one-off container, and nothing else; other calls pass as they are', async () => {
    const create = {
      Image: 'app:v2',
      Cmd: ['node', 'migrate.mjs'],
      HostConfig: { Links: ['challenge-app_app_1:app'], NetworkMode: 'challenge-app_default' },
      NetworkingConfig: {
        EndpointsConfig: { 'challenge-app_default': { Aliases: ['app'], Links: ['x:y'] } },
      },
    };
    expect(await post('/v1.41/containers/create?name=run', create)).toEqual({
      status: 201,
      body: '{"Id":"abc"}',
    });
    expect(JSON.parse(received[0]?.body ?? '')).toEqual({
      Image: 'app:v2',
      Cmd: ['node', 'migrate.mjs'],
      HostConfig: { NetworkMode: 'challenge-app_default' },
      NetworkingConfig: { EndpointsConfig: { 'challenge-app_default': { Aliases: ['app'] } } },
    });
    await post('/v1.41/networks/create', { Name: 'n', Links: ['kept'] });
    expect(received[1]).toEqual({
      url: '/v1.41/networks/create',
      body: JSON.stringify({ Name: 'n', Links: ['kept'] }),
    });
    expect(proxy.strippedLinks).toBe(1);
  });

  it('splices an upgraded (attach) connection both ways', async () => {
    const socket = net.connect(path.join(dir, 'proxy.sock'));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'POST /v1.41/containers/abc/attach?stream=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
    );
    let seen = '';
    socket.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.write('hello');
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.destroy();
    expect(seen).toContain('101 UPGRADED');
    expect(seen.endsWith('hello')).toBe(true);
  });
});
