// The load balancer in front of the fleet (haproxy), and a TCP relay that makes the host's
// PostgreSQL reachable from the namespaces at the bridge address without reconfiguring it.
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Processes, waitUntil } from './processes.js';

export interface Backend {
  name: string;
  address: string;
  /** Default 80, the instances' port. */
  port?: number;
}

export interface LoadBalancer {
  url: string;
  /** `show stat` rows of the fleet backend: server name → status (UP, DOWN, DRAIN, MAINT, …). */
  serverStates(): Promise<Record<string, string>>;
  /** The fleet backend's counters: retries and redispatches (requests haproxy saved). */
  counters(): Promise<{ retries: number; redispatches: number }>;
  /** A command on the runtime API (e.g. `set server fleet/i-… state drain`). */
  command(line: string): Promise<string>;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startLoadBalancer(
  dir: string,
  backends: Backend[],
  relay: { listen: string; target: string },
  processes: Processes,
): Promise<LoadBalancer> {
  const port = await freePort();
  const socket = path.join(dir, 'haproxy.sock');
  const config = [
    'global',
    `  stats socket ${socket} mode 600 level admin`,
    '  maxconn 2000',
    // One line per request on stdout (haproxy.log): its termination state says which side ended
    // a failed request (see "Session state at disconnection" in haproxy's configuration manual).
    '  log stdout format raw local0',
    'defaults',
    '  mode http',
    '  log global',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout http-request 10s',
    // An idle client connection stays open 60 s, an ALB's default idle timeout. Unset, haproxy
    // would use `timeout http-request` (10 s).
    '  timeout http-keep-alive 60s',
    // No retries by default, like an ALB: the instances' SHUTDOWN_DELAY (the service keeps
    // serving for a second after /ready turns 503, longer than haproxy's check interval × fall)
    // is what keeps clients from seeing a refused connection. E2E_LB_RETRIES=on turns haproxy's
    // retries and redispatch on, to compare.
    ...(process.env.E2E_LB_RETRIES === 'on'
      ? [
          '  retries 3',
          '  option redispatch 1',
          '  retry-on conn-failure empty-response response-timeout 503',
        ]
      : ['  retries 0', '  retry-on none']),
    'frontend web',
    '  option httplog',
    `  bind 127.0.0.1:${port}`,
    '  default_backend fleet',
    'backend fleet',
    '  balance roundrobin',
    // `Keep-Alive: timeout=65` is the service's hint to its own peer, the balancer. It is
    // connection-specific (RFC 9110, 7.6.1) and says nothing of the balancer's connection to the
    // client, but haproxy 2.6 passes it on: undici then kept idle connections 64 s against
    // haproxy's 10 s, and a request sent as haproxy closed one failed with no answer
    // (UND_ERR_SOCKET; test/e2e-fake/load-balancer.test.ts).
    '  http-response del-header keep-alive',
    '  option httpchk GET /ready',
    '  http-check expect status 200',
    '  default-server check inter 500ms fall 1 rise 2',
    // A check may take 3 s (an ALB's default health check timeout is 5 s). Unset, it is `inter`:
    // on a loaded machine a healthy instance's /ready (one database write) took over 500 ms and,
    // with `fall 1`, was taken out. Drains stay fast: a stopping service answers 503 at once.
    '  timeout check 3s',
    ...backends.map((b) => `  server ${b.name} ${b.address}:${b.port ?? 80}`),
    'frontend postgres',
    '  mode tcp',
    '  no log',
    `  bind ${relay.listen}`,
    '  timeout client 1h',
    '  default_backend postgres',
    'backend postgres',
    '  mode tcp',
    '  timeout server 1h',
    `  server postgres ${relay.target}`,
    '',
  ].join('\n');
  const configFile = path.join(dir, 'haproxy.cfg');
  writeFileSync(configFile, config);
  // -db: stay in the foreground, so the pid we hold is haproxy's own.
  processes.start('haproxy', 'haproxy', ['-db', '-f', configFile], path.join(dir, 'haproxy.log'));

  const command = (line: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const client = net.createConnection(socket);
      let out = '';
      client.on('data', (chunk) => (out += chunk.toString()));
      client.on('end', () => resolve(out));
      client.on('error', reject);
      client.end(`${line}\n`);
    });
  await waitUntil(
    'haproxy runtime API',
    async () => (await command('show info')).includes('Name: HAProxy'),
    10_000,
  );
  return {
    url: `http://127.0.0.1:${port}`,
    command,
    async counters() {
      const csv = await command('show stat');
      const row = csv.split('\n').find((line) => line.startsWith('fleet,BACKEND,'));
      const cells = row?.split(',') ?? [];
      // show stat columns: 15 wretr, 16 wredis.
      return { retries: Number(cells[15] ?? 0), redispatches: Number(cells[16] ?? 0) };
    },
    async serverStates() {
      const csv = await command('show stat');
      const states: Record<string, string> = {};
      for (const line of csv.split('\n')) {
        const [proxy, server, ...rest] = line.split(',');
        if (proxy === 'fleet' && server && server !== 'BACKEND' && server !== 'FRONTEND') {
          states[server] = rest[15] ?? '';
        }
      }
      return states;
    },
  };
}
