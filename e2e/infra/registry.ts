// The registry standing in for ECR's: Debian's docker-registry over TLS with basic auth (ECR is
// HTTPS with a token from GetAuthorizationToken). podman trusts its CA through
// /etc/containers/certs.d/<host>/ca.crt, which is how `docker login` through the podman API works
// (a plain-HTTP registry fails there, see shared docs).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Processes, run, waitUntil } from './processes.js';
import { RegistryClient } from '../fake-aws/registry-client.js';

export interface Registry {
  host: string;
  username: string;
  password: string;
  ca: string;
  client: RegistryClient;
  /** Removes the CA from podman's trust directory. */
  untrust(): void;
}

export async function startRegistry(
  dir: string,
  host: string,
  processes: Processes,
): Promise<Registry> {
  mkdirSync(path.join(dir, 'storage'), { recursive: true });
  const tls = path.join(dir, 'tls');
  mkdirSync(tls, { recursive: true });
  const openssl = (args: string[]): Promise<unknown> => run('openssl', args, { cwd: tls });
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=challenge-deploy e2e CA',
  ]);
  await openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'registry.key',
    '-out',
    'registry.csr',
    '-subj',
    `/CN=${host}`,
  ]);
  writeFileSync(
    path.join(tls, 'ext.cnf'),
    `subjectAltName=IP:${host}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`,
  );
  await openssl([
    'x509',
    '-req',
    '-in',
    'registry.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'registry.crt',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
  ]);
  const ca = readFileSync(path.join(tls, 'ca.crt'), 'utf8');

  const username = 'AWS';
  const password = randomBytes(18).toString('base64url');
  const { stdout: htpasswd } = await run('htpasswd', ['-Bbn', username, password]);
  writeFileSync(path.join(dir, 'htpasswd'), htpasswd);
  writeFileSync(
    path.join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log: { level: warn, accesslog: { disabled: true } }',
      `storage: { filesystem: { rootdirectory: ${path.join(dir, 'storage')} }, delete: { enabled: true } }`,
      'http:',
      `  addr: ${host}:443`,
      `  secret: ${randomBytes(16).toString('hex')}`,
      `  tls: { certificate: ${path.join(tls, 'registry.crt')}, key: ${path.join(tls, 'registry.key')} }`,
      `auth: { htpasswd: { realm: challenge-deploy-e2e, path: ${path.join(dir, 'htpasswd')} } }`,
      '',
    ].join('\n'),
  );

  const certsDir = `/etc/containers/certs.d/${host}`;
  const created = [path.dirname(certsDir), certsDir].filter((dir) => !existsSync(dir));
  mkdirSync(certsDir, { recursive: true });
  writeFileSync(path.join(certsDir, 'ca.crt'), ca);

  processes.start(
    'docker-registry',
    'docker-registry',
    ['serve', path.join(dir, 'config.yml')],
    path.join(dir, 'registry.log'),
  );
  const client = new RegistryClient(host, username, password, ca);
  await waitUntil(
    'the registry to answer',
    async () => {
      await client.tags('probe');
      return true;
    },
    15_000,
  );
  return {
    host,
    username,
    password,
    ca,
    client,
    untrust: () => {
      rmSync(path.join(certsDir, 'ca.crt'), { force: true });
      for (const dir of created.reverse()) rmSync(dir, { recursive: true, force: true });
    },
  };
}
