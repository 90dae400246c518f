// A client for the Docker registry HTTP API v2: the fake ECR reads and writes image data here, so
// a `docker push` by the action, a PutImage promotion and the instances' pulls see the same images.
import https from 'node:https';

export const MANIFEST_MEDIA_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
];

export interface Manifest {
  digest: string;
  mediaType: string;
  body: string;
}

export interface RegistryApi {
  /** Host (and port) as image references name it, e.g. `10.231.0.1`. */
  readonly host: string;
  tags(repository: string): Promise<string[]>;
  manifest(repository: string, reference: string): Promise<Manifest | undefined>;
  putManifest(repository: string, tag: string, body: string, mediaType: string): Promise<string>;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class RegistryClient implements RegistryApi {
  private readonly agent: https.Agent;

  constructor(
    readonly host: string,
    private readonly username: string,
    private readonly password: string,
    ca: string,
  ) {
    this.agent = new https.Agent({ ca, keepAlive: true });
  }

  async tags(repository: string): Promise<string[]> {
    const reply = await this.request('GET', `/v2/${repository}/tags/list?n=10000`);
    if (reply.status === 404) return [];
    this.expect(reply, 200, `tags of ${repository}`);
    const parsed = JSON.parse(reply.body) as { tags?: string[] | null };
    return parsed.tags ?? [];
  }

  async manifest(repository: string, reference: string): Promise<Manifest | undefined> {
    const reply = await this.request('GET', `/v2/${repository}/manifests/${reference}`, {
      accept: MANIFEST_MEDIA_TYPES.join(', '),
    });
    if (reply.status === 404) return undefined;
    this.expect(reply, 200, `manifest ${repository}:${reference}`);
    return {
      digest: String(reply.headers['docker-content-digest']),
      mediaType: String(reply.headers['content-type']).split(';')[0] ?? '',
      body: reply.body,
    };
  }

  async putManifest(
    repository: string,
    tag: string,
    body: string,
    mediaType: string,
  ): Promise<string> {
    const reply = await this.request(
      'PUT',
      `/v2/${repository}/manifests/${tag}`,
      { 'content-type': mediaType },
      body,
    );
    this.expect(reply, 201, `PUT manifest ${repository}:${tag}`);
    return String(reply.headers['docker-content-digest']);
  }

  close(): void {
    this.agent.destroy();
  }

  private expect(reply: Reply, status: number, what: string): void {
    if (reply.status !== status) {
      throw new Error(`registry: ${what}: HTTP ${reply.status} ${reply.body.slice(0, 300)}`);
    }
  }

  private request(
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: string,
  ): Promise<Reply> {
    const [hostname, port] = this.host.split(':');
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          method,
          hostname,
          port: port ? Number(port) : 443,
          path,
          agent: this.agent,
          auth: `${this.username}:${this.password}`,
          headers:
            body === undefined
              ? headers
              : { ...headers, 'content-length': Buffer.byteLength(body) },
          timeout: 15000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`registry: ${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}
