/**
 * CPU cost of the ways a SQLite write with RETURNING can be run through better-sqlite3, in one
 * process with the service's pragmas (WAL, synchronous=NORMAL): ~200-byte updates of 1,000
 * documents, as bench/service.ts's PUT load. CPU time (process.cpuUsage) rather than wall time,
 * so a busy neighbour on a shared machine skews the figures less.
 *
 *   .get()            steps once; drops COMMIT errors and skips the WAL checkpoint (the old, wrong form)
 *   .all()            steps to the end: the commit's error is thrown, the WAL hook runs
 *   .run() + SELECT   in one transaction: BEGIN, UPDATE, SELECT, COMMIT
 *   .all() + stat()   what SqliteStore does: the file identity checked after each write
 *   .all() + 2 stat() checked before and after (SqliteStore does that only once the file is gone)
 *
 *   npx tsx bench/sqlite-writes.ts        (BENCH_WRITES=50000 changes the count)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

const WRITES = Number(process.env.BENCH_WRITES ?? 30_000);
const DOCS = 1000;
const dir = mkdtempSync(join(tmpdir(), 'bench-sqlite-writes-'));

interface Row {
  id: string;
  data: string;
  version: number;
}

function open(name: string) {
  const file = join(dir, `${name}.sqlite`);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE documents (id TEXT PRIMARY KEY, data TEXT NOT NULL,
    version INTEGER NOT NULL, revision TEXT NOT NULL, updated_at TEXT NOT NULL) WITHOUT ROWID`);
  const insert = db.prepare('INSERT INTO documents VALUES (?, ?, 1, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < DOCS; i++) insert.run(`doc-${i}`, '{}', '1-x', new Date().toISOString());
  })();
  const update = db.prepare<[string, string, string, string], Row>(
    `UPDATE documents SET data = ?, version = version + 1, revision = (version + 1) || '-' || ?,
     updated_at = ? WHERE id = ? RETURNING id, data, version`,
  );
  const updateOnly = db.prepare<[string, string, string, string]>(
    `UPDATE documents SET data = ?, version = version + 1, revision = (version + 1) || '-' || ?,
     updated_at = ? WHERE id = ?`,
  );
  const select = db.prepare<[string], Row>('SELECT id, data, version FROM documents WHERE id = ?');
  return { db, file, update, updateOnly, select };
}

type Opened = ReturnType<typeof open>;
const forms: Record<string, (o: Opened) => (args: [string, string, string, string]) => unknown> = {
  '.get()': (o) => (args) => o.update.get(...args),
  '.all()': (o) => (args) => o.update.all(...args)[0],
  '.run() + SELECT in a transaction': (o) => {
    const write = o.db.transaction((args: [string, string, string, string]) => {
      o.updateOnly.run(...args);
      return o.select.get(args[3]);
    });
    return (args) => write(args);
  },
  '.all() + stat()': (o) => {
    const { dev, ino } = statSync(o.file);
    return (args) => {
      const row = o.update.all(...args)[0];
      const now = statSync(o.file, { throwIfNoEntry: false });
      if (!now || now.dev !== dev || now.ino !== ino) throw new Error('moved');
      return row;
    };
  },
  '.all() + 2 stat()': (o) => {
    const { dev, ino } = statSync(o.file);
    const check = () => {
      const now = statSync(o.file, { throwIfNoEntry: false });
      if (!now || now.dev !== dev || now.ino !== ino) throw new Error('moved');
    };
    return (args) => {
      check();
      const row = o.update.all(...args)[0];
      check();
      return row;
    };
  },
};

const data = JSON.stringify({ pad: 'x'.repeat(180) });
const results: string[] = [];
try {
  for (const [name, form] of Object.entries(forms)) {
    const opened = open(name.replace(/\W+/g, '-'));
    const write = form(opened);
    for (let i = 0; i < 2000; i++) write([data, 'warm', 'now', `doc-${i % DOCS}`]); // JIT, cache
    const before = process.cpuUsage();
    const times = new Float64Array(WRITES);
    for (let i = 0; i < WRITES; i++) {
      const started = process.hrtime.bigint();
      write([data, `n${i}`, new Date().toISOString(), `doc-${(i * 7919) % DOCS}`]);
      times[i] = Number(process.hrtime.bigint() - started) / 1e6;
    }
    const used = process.cpuUsage(before);
    // The slowest writes are the ones that ran the auto-checkpoint: how long the loop stalls.
    times.sort();
    const slowest = `${times[Math.floor(WRITES * 0.999)]!.toFixed(2)} | ${times[WRITES - 1]!.toFixed(2)}`;
    const wal = statSync(`${opened.file}-wal`).size / 1024 ** 2;
    opened.db.close();
    const us = (used.user + used.system) / WRITES;
    results.push(`| ${name} | ${us.toFixed(1)} | ${slowest} | ${wal.toFixed(1)} |`);
  }
  console.log(
    [
      `${WRITES} updates of ~200 bytes over ${DOCS} documents, node ${process.version}`,
      '',
      '| form | CPU µs/write | p99.9 ms | max ms | WAL MB after |',
      '|---|---|---|---|---|',
      ...results,
    ].join('\n'),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
