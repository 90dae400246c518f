import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../../service/logger.js';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /**
   * The parsed body, typed as the union of the service's JSON shapes so tests can read any field;
   * a field the service did not send reads as undefined (and an empty or non-JSON body as {}).
   */
  json: JsonReply;
}

export interface JsonReply {
  // documents
  id: string;
  data: Record<string, unknown>;
  version: number | string;
  createdAt: string;
  updatedAt: string;
  // lists
  items: { id: string; version: number; updatedAt: string }[];
  nextCursor: string | null;
  // problems, /health, /ready
  type: string;
  title: string;
  status: number | string;
  detail: string;
  instance: string;
  requestId: string;
  storage: string;
}

export interface RequestOptions {
  body?: string | Buffer;
  headers?: Record<string, string>;
}

/**
 * One HTTP request with exactly the path and headers given. node:http sends the path as written
 * (fetch would normalise `/json/%2E%2E` away) and adds no Content-Type of its own.
 */
export function request(
  baseUrl: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<Reply> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: hostname, port, path, method, headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json = {} as JsonReply;
          try {
            if (text) json = JSON.parse(text) as JsonReply;
          } catch {
            // not JSON: leave {}
          }
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined)
              headers.set(name, Array.isArray(value) ? value.join(', ') : value);
          }
          resolve({ status: res.statusCode ?? 0, headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A logger whose JSON lines are kept in memory, to assert on what the service logs. */
export function capturedLogger(level = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ level }, sink), lines };
}
