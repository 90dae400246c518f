// A pass-through in front of an instance's podman API socket that removes container links from
// container-create requests, and changes nothing else.
//
// Why: `docker-compose run` (Compose v1, the only Compose Debian has) links every one-off
// container to the service's running containers (compose/service.py `_get_links(link_to_self)`).
// Docker Engine accepts legacy links; podman 4.3's Docker-compatible API refuses the create with
// "bad parameter: link is not supported". A deploy command (`pre-deploy-command`) runs exactly
// that one-off container while the app runs, so without this the suite could not run it on its
// podman hosts at all. The one-off container does not use the link (it reaches PostgreSQL, not
// the app), so dropping it changes nothing the scenarios observe.
import http from 'node:http';
import net from 'node:net';
import { rmSync } from 'node:fs';

export interface EngineProxy {
  /** `unix://…` of the proxy, for DOCKER_HOST. */
  dockerHost: string;
  /** Container creates whose links were removed (for the report). */
  readonly strippedLinks: number;
  close(): Promise<void>;
}

const CREATE = /^\/(v[\d.]+\/)?containers\/create(\?|$)/;

/** Removes HostConfig.Links and each endpoint's Links from a container-create body. */
export function withoutLinks(body: Record<string, unknown>): { body: string; stripped: boolean } {
  let stripped = false;
  const hostConfig = body.HostConfig as Record<string, unknown> | undefined;
  if (hostConfig && Array.isArray(hostConfig.Links) && hostConfig.Links.length > 0) stripped = true;
  if (hostConfig) delete hostConfig.Links;
  const endpoints = (body.NetworkingConfig as { EndpointsConfig?: Record<string, unknown> })
    ?.EndpointsConfig;
  for (const endpoint of Object.values(endpoints ?? {}) as Array<Record<string, unknown>>) {
    if (Array.isArray(endpoint.Links) && endpoint.Links.length > 0) stripped = true;
    delete endpoint.Links;
  }
  return { body: JSON.stringify(body), stripped };
}

export async function startEngineProxy(upstream: string, socket: string): Promise<EngineProxy> {
  let strippedLinks = 0;
  // Upgraded connections leave the HTTP server's bookkeeping: close() ends them itself.
  const streams = new Set<net.Socket>();
  rmSync(socket, { force: true });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body: Buffer | string = Buffer.concat(chunks);
      const headers = { ...req.headers };
      if (req.method === 'POST' && CREATE.test(req.url ?? '') && body.length > 0) {
        const rewritten = withoutLinks(
          JSON.parse(body.toString('utf8')) as Record<string, unknown>,
        );
        if (rewritten.stripped) strippedLinks += 1;
        body = rewritten.body;
        headers['content-length'] = String(Buffer.byteLength(body));
        delete headers['transfer-encoding'];
      }
      const forward = http.request(
        { socketPath: upstream, path: req.url, method: req.method, headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      forward.end(body);
    });
  });
  // Attach and exec upgrade the connection to a raw stream: splice the two sockets together.
  server.on('upgrade', (req, client: net.Socket, head: Buffer) => {
    const target = net.connect(upstream, () => {
      if (client.destroyed) return target.destroy();
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      target.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) target.write(head);
      target.pipe(client);
      client.pipe(target);
    });
    streams.add(client).add(target);
    const end = (): void => {
      target.destroy();
      client.destroy();
      streams.delete(target);
      streams.delete(client);
    };
    target.on('error', end);
    client.on('error', end);
    // Either side closing ends the stream (the container exited, or compose went away).
    target.on('close', end);
    client.on('close', end);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  return {
    dockerHost: `unix://${socket}`,
    get strippedLinks() {
      return strippedLinks;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const stream of streams) stream.destroy();
      }),
  };
}
