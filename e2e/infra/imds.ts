// The EC2 instance metadata service (IMDSv2) for simulated instances that boot with user data.
// It listens on the bridge address; inside an instance's namespace, 169.254.169.254:80 is routed
// to the bridge and DNAT'ed to it (the namespace's own iptables), so the user data's
// `curl http://169.254.169.254/…` works unchanged. It tells instances apart by source address.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { namespacePath } from './network.js';
import { run } from './processes.js';

export const IMDS_ADDRESS = '169.254.169.254';

export interface InstanceMetadata {
  instanceId: string;
  region: string;
}

export interface MetadataService {
  port: number;
  /** Answers requests from `address` with this instance's metadata. */
  register(address: string, metadata: InstanceMetadata): void;
  /** Routes the namespace's 169.254.169.254:80 to this service. */
  attach(netns: string, hostAddress: string): Promise<void>;
  /** Every request, as `METHOD path → status`, for assertions. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startMetadataService(host: string): Promise<MetadataService> {
  const byAddress = new Map<string, InstanceMetadata>();
  const tokens = new Set<string>();
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const address = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const url = req.url ?? '';
    const answer = (status: number, body: string): void => {
      requests.push(`${req.method} ${url} → ${status}`);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
    };
    const metadata = byAddress.get(address);
    if (!metadata) return answer(404, '');
    if (req.method === 'PUT' && url === '/latest/api/token') {
      // IMDSv2: a session token needs its lifetime (1–21600 s).
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return answer(400, '');
      const token = randomBytes(32).toString('base64');
      tokens.add(token);
      return answer(200, token);
    }
    if (req.method !== 'GET') return answer(405, '');
    const token = req.headers['x-aws-ec2-metadata-token'];
    if (typeof token !== 'string' || !tokens.has(token)) return answer(401, '');
    const values: Record<string, string> = {
      '/latest/meta-data/instance-id': metadata.instanceId,
      '/latest/meta-data/placement/region': metadata.region,
      '/latest/meta-data/placement/availability-zone': `${metadata.region}a`,
      '/latest/meta-data/local-ipv4': address,
    };
    const value = values[url];
    return value === undefined ? answer(404, '') : answer(200, value);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    requests,
    register: (address, metadata) => byAddress.set(address, metadata),
    async attach(netns, hostAddress) {
      await run('ip', ['-n', netns, 'route', 'add', `${IMDS_ADDRESS}/32`, 'via', hostAddress]);
      await run('nsenter', [
        `--net=${namespacePath(netns)}`,
        'iptables',
        '-t',
        'nat',
        '-A',
        'OUTPUT',
        '-d',
        `${IMDS_ADDRESS}/32`,
        '-p',
        'tcp',
        '--dport',
        '80',
        '-j',
        'DNAT',
        '--to-destination',
        `${hostAddress}:${port}`,
      ]);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
