// A few node:http servers imitating the service's /health and /json behind a tiny round-robin
// proxy: the smallest real fleet that `npm run check:balance` can be pointed at.
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeInstance = {
  instance: string;
  version: string;
  /** Documents; instances that share one Map imitate a shared store. */
  store: Map<string, unknown>;
  /** Name the answering instance in this response header on /json reads, if set. */
  instanceHeader?: string;
  /** Answer /health with this status instead of 200. */
  healthStatus?: number;
};

export type FakeFleet = { url: string; close: () => Promise<void> };

const TOKEN = 'test-token';
export const fleetToken = TOKEN;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function instanceServer(fake: FakeInstance): Server {
  return createServer((req, res) => {
    void (async () => {
      const send = (status: number, body?: unknown) => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (fake.instanceHeader) headers[fake.instanceHeader] = fake.instance;
        res.writeHead(status, headers).end(body === undefined ? undefined : JSON.stringify(body));
      };
      const path = req.url ?? '/';
      if (req.method === 'GET' && path === '/health') {
        return send(fake.healthStatus ?? 200, {
          status: 'ok',
          version: fake.version,
          instance: fake.instance,
        });
      }
      const authorized = req.headers.authorization === `Bearer ${TOKEN}`;
      if (req.method === 'POST' && path === '/json') {
        if (!authorized) return send(401, { title: 'Unauthorized' });
        const { id, data } = JSON.parse(await readBody(req)) as { id: string; data: unknown };
        if (fake.store.has(id)) return send(409, { title: 'Conflict' });
        fake.store.set(id, data);
        return send(201, { id, data, version: 1 });
      }
      const match = /^\/json\/([^/]+)$/.exec(path);
      if (match) {
        const id = decodeURIComponent(match[1]!);
        if (req.method === 'GET') {
          return fake.store.has(id)
            ? send(200, { id, data: fake.store.get(id), version: 1 })
            : send(404, { title: 'Not Found' });
        }
        if (req.method === 'DELETE') {
          if (!authorized) return send(401, { title: 'Unauthorized' });
          return fake.store.delete(id) ? send(204) : send(404, { title: 'Not Found' });
        }
      }
      send(404, { title: 'Not Found' });
    })();
  });
}

/** A proxy that sends each request to the next upstream port in turn, like a round-robin balancer. */
export async function startRoundRobinProxy(ports: number[]): Promise<FakeFleet> {
  let next = 0;
  const proxy = createServer((req, res) => {
    const port = ports[next++ % ports.length]!;
    const upstream = request(
      { host: '127.0.0.1', port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  const proxyPort = await listen(proxy);
  return {
    url: `http://127.0.0.1:${proxyPort}`,
    close: () => new Promise<void>((resolve) => proxy.close(() => resolve())),
  };
}

/** Starts the instances and a round-robin proxy in front of them. */
export async function startFakeFleet(instances: FakeInstance[]): Promise<FakeFleet> {
  const servers = instances.map(instanceServer);
  const ports = await Promise.all(servers.map(listen));
  const proxy = await startRoundRobinProxy(ports);
  return {
    url: proxy.url,
    close: async () => {
      await proxy.close();
      await Promise.all(
        servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      );
    },
  };
}
