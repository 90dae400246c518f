/**
 * The limit for this design: the same contract for GET and PUT /json/:id (id check, ETag,
 * If-None-Match, bearer auth in constant time, JSON validation, a compare-free versioned update)
 * on bare node:http and better-sqlite3 with the service's pragmas, and nothing else. The service
 * benchmark compares itself against this.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

const file = process.env.DATABASE_URL ?? './data/raw.sqlite';
const token = createHash('sha256')
  .update(process.env.API_TOKEN ?? '')
  .digest();
mkdirSync(dirname(file), { recursive: true });
const db = new Database(file);
db.pragma('busy_timeout = 5000');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`CREATE TABLE IF NOT EXISTS documents (id TEXT PRIMARY KEY, data TEXT NOT NULL,
  version INTEGER NOT NULL, revision TEXT NOT NULL, created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL) WITHOUT ROWID`);

interface Row {
  id: string;
  data: string;
  version: number;
  revision: string;
  created_at: string;
  updated_at: string;
}
const get = db.prepare<[string], Row>('SELECT * FROM documents WHERE id = ?');
const insert = db.prepare<[string, string, string, string, string], Row>(
  `INSERT INTO documents VALUES (?, ?, 1, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING *`,
);
const update = db.prepare<[string, string, string, string], Row>(
  `UPDATE documents SET data = ?, version = version + 1, revision = (version + 1) || '-' || ?,
   updated_at = ? WHERE id = ? RETURNING *`,
);
const ID = /^[A-Za-z0-9._~-]{1,128}$/;

function send(res: ServerResponse, status: number, body?: string, etag?: string): void {
  const headers: Record<string, string> = {};
  if (etag) headers.ETag = `"${etag}"`;
  if (body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
  res.writeHead(status, headers).end(body);
}

function documentJson(row: Row): string {
  return `{"id":${JSON.stringify(row.id)},"data":${row.data},"version":${row.version},"createdAt":"${row.created_at}","updatedAt":"${row.updated_at}"}`;
}

function authorized(req: IncomingMessage): boolean {
  const match = /^bearer[ \t]+(\S+)$/i.exec(req.headers.authorization ?? '');
  return !!match && timingSafeEqual(createHash('sha256').update(match[1]!).digest(), token);
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString()));
      } catch {
        resolve(undefined);
      }
    });
  });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  if (req.method === 'POST' && url === '/json') {
    if (!authorized(req)) return send(res, 401);
    const body = await readBody(req);
    if (!isObject(body) || typeof body.id !== 'string' || !isObject(body.data))
      return send(res, 400);
    const now = new Date().toISOString();
    const rev = `1-${randomBytes(8).toString('hex')}`;
    const [row] = insert.all(body.id, JSON.stringify(body.data), rev, now, now);
    return row ? send(res, 201, documentJson(row), row.revision) : send(res, 409);
  }
  if (!url.startsWith('/json/')) return send(res, 404);
  const id = decodeURIComponent(url.slice(6));
  if (!ID.test(id)) return send(res, 400);
  if (req.method === 'GET') {
    const row = get.get(id);
    if (!row) return send(res, 404);
    if (req.headers['if-none-match'] === `"${row.revision}"`)
      return send(res, 304, undefined, row.revision);
    return send(res, 200, documentJson(row), row.revision);
  }
  if (req.method === 'PUT') {
    if (!authorized(req)) return send(res, 401);
    const data = await readBody(req);
    if (!isObject(data)) return send(res, 400);
    // .all(), not .get(): a write must step to its end, or its COMMIT error is dropped and the
    // WAL never checkpointed (service/store/sqlite.ts); the limit must pay what correctness costs.
    const [row] = update.all(
      JSON.stringify(data),
      randomBytes(8).toString('hex'),
      new Date().toISOString(),
      id,
    );
    return row ? send(res, 200, documentJson(row), row.revision) : send(res, 404);
  }
  send(res, 405);
}

const server = createServer((req, res) => void handle(req, res));
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 8081), () => {
  process.stdout.write(
    `${JSON.stringify({ msg: 'listening', port: (server.address() as { port: number }).port, pid: process.pid })}\n`,
  );
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
