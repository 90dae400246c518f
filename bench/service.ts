/**
 * Throughput of the document service against the raw node:http + better-sqlite3 server of the
 * same contract (bench/raw-server.ts), under the same wrk load: 1 thread, 32 connections, 10 s
 * each of GET (random ids over 1,000 documents), PUT (~200-byte bodies) and a 90/10 mix; and the
 * service with WEB_CONCURRENCY=2. All servers run at once and the runs are interleaved (raw,
 * service, service x2 for each load), so a busy neighbour on a shared machine skews all of them
 * alike. Besides req/s it reports CPU time per request, which contention distorts much less.
 *
 * Both servers run as JavaScript compiled by tsc, as production runs the service (the Dockerfile
 * runs build/service/main.js). Not through tsx, which `npm start` uses: tsx wraps every named
 * closure in a __name() call each time it is created, a per-request cost production never pays.
 *
 *   npm run bench:service      (BENCH_DURATION=10s, BENCH_CONNECTIONS=32 change the load)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'bench-token-0123456789';
const DOCS = 1000;
const DURATION = process.env.BENCH_DURATION ?? '10s';
const CONNECTIONS = process.env.BENCH_CONNECTIONS ?? '32';
const MODES = ['get', 'put', 'mix'] as const;
type Mode = (typeof MODES)[number];

interface Result {
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  cpuUsPerRequest: number;
}

interface Target {
  name: string;
  script: string;
  env: Record<string, string>;
  listeners: number;
}

interface Running {
  target: Target;
  child: ChildProcess;
  base: string;
}

const workDir = mkdtempSync(join(tmpdir(), 'bench-service-'));
// Inside the repository, where node finds node_modules and package.json's "type": "module".
const buildDir = join(ROOT, 'build');

function compile(): void {
  const tsc = join(ROOT, 'node_modules/.bin/tsc');
  const runs = [
    ['-p', 'tsconfig.build.json'],
    // the one file outside service/, with the module options of tsconfig.json
    [
      'bench/raw-server.ts',
      '--outDir',
      join(buildDir, 'bench'),
      '--target',
      'ES2022',
      '--module',
      'NodeNext',
      '--esModuleInterop',
      '--skipLibCheck',
      '--types',
      'node',
    ],
  ];
  for (const args of runs) {
    const run = spawnSync(tsc, args, { cwd: ROOT, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`tsc ${args.join(' ')} failed:\n${run.stdout}`);
  }
}

function start(target: Target): Promise<Running> {
  const child = spawn(process.execPath, [join(buildDir, target.script)], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      API_TOKEN: TOKEN,
      NODE_ENV: 'production',
      DATABASE_URL: join(workDir, `${target.name}.sqlite`),
      ...target.env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let seen = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.includes('"msg":"listening"')) continue;
        if (++seen === target.listeners) {
          const { port } = JSON.parse(line) as { port: number };
          resolve({ target, child, base: `http://127.0.0.1:${port}` });
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`${target.name} exited with ${code}`)));
  });
}

async function seed(base: string): Promise<void> {
  for (let i = 0; i < DOCS; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, async (_, k) => {
        const response = await fetch(`${base}/json`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({
            id: `doc-${i + k}`,
            data: { seeded: i + k, pad: 'x'.repeat(150) },
          }),
        });
        if (response.status !== 201) throw new Error(`seeding failed: HTTP ${response.status}`);
        await response.arrayBuffer();
      }),
    );
  }
}

/** CPU seconds used so far by a process and its children (cluster workers). */
function cpuSeconds(pid: number): number {
  const pids = [pid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid)
        pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  let ticks = 0;
  for (const p of pids) {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime + stime
    } catch {
      // ended
    }
  }
  return ticks / 100;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

function wrk(server: Running, mode: Mode, duration: string): Result {
  const cpuBefore = cpuSeconds(server.child.pid!);
  const run = spawnSync(
    'wrk',
    [
      '-t1',
      `-c${CONNECTIONS}`,
      `-d${duration}`,
      '--latency',
      '-s',
      join(ROOT, 'bench/service-wrk.lua'),
      server.base,
    ],
    {
      env: { ...process.env, BENCH_MODE: mode, BENCH_TOKEN: TOKEN, BENCH_DOCS: String(DOCS) },
      encoding: 'utf8',
    },
  );
  const cpu = cpuSeconds(server.child.pid!) - cpuBefore;
  if (run.status !== 0) throw new Error(`wrk failed: ${run.stderr}`);
  const text = run.stdout;
  const requests = Number(/(\d+) requests in/.exec(text)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const p50 = /\s50%\s+([\d.]+)(us|ms|s)/.exec(text)!;
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(text)!;
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = non2xx + (socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0);
  return {
    rps,
    p50ms: toMs(p50[1]!, p50[2]!),
    p99ms: toMs(p99[1]!, p99[2]!),
    errors,
    cpuUsPerRequest: (cpu * 1e6) / requests,
  };
}

const targets: Target[] = [
  { name: 'raw', script: 'bench/raw-server.js', env: {}, listeners: 1 },
  { name: 'service', script: 'service/main.js', env: {}, listeners: 1 },
  { name: 'service-x2', script: 'service/main.js', env: { WEB_CONCURRENCY: '2' }, listeners: 2 },
];

const servers: Running[] = [];
try {
  compile();
  for (const target of targets) servers.push(await start(target));
  for (const server of servers) {
    await seed(server.base);
    wrk(server, 'mix', '3s'); // warm up the JIT and the page cache
  }
  const results: Record<string, Record<Mode, Result>> = {};
  for (const mode of MODES) {
    for (const server of servers) {
      const result = wrk(server, mode, DURATION);
      (results[server.target.name] ??= {} as Record<Mode, Result>)[mode] = result;
      process.stderr.write(`${server.target.name} ${mode}: ${result.rps.toFixed(0)} req/s\n`);
    }
  }
  const raw = results.raw!;
  const one = results.service!;
  const two = results['service-x2']!;

  const rows = targets.flatMap((t) =>
    MODES.map((mode) => {
      const r = results[t.name]![mode];
      return `| ${t.name} | ${mode} | ${r.rps.toFixed(0)} | ${r.p50ms.toFixed(2)} | ${r.p99ms.toFixed(2)} | ${r.cpuUsPerRequest.toFixed(1)} | ${r.errors} |`;
    }),
  );
  const check = (label: string, value: number, target: number, better: 'above' | 'below') => {
    const ok = better === 'above' ? value >= target : value < target;
    return `| ${label} | ${value.toFixed(2)} | ${better === 'above' ? '≥' : '<'} ${target} | ${ok ? 'met' : 'MISSED'} |`;
  };
  const worstP99 = (r: Record<Mode, Result>) => Math.max(...MODES.map((mode) => r[mode].p99ms));
  console.log(
    [
      '',
      `wrk -t1 -c${CONNECTIONS} -d${DURATION}, ${DOCS} documents, ~200-byte PUT bodies, node ${process.version}`,
      '',
      '| server | load | req/s | p50 ms | p99 ms | CPU µs/req | errors |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
      '| ratio | value | target | |',
      '|---|---|---|---|',
      check('service GET / raw GET (req/s)', one.get.rps / raw.get.rps, 0.7, 'above'),
      check('service PUT / raw PUT (req/s)', one.put.rps / raw.put.rps, 0.6, 'above'),
      check('service mix / raw mix (req/s)', one.mix.rps / raw.mix.rps, 0.6, 'above'),
      check(
        'raw / service CPU per GET',
        raw.get.cpuUsPerRequest / one.get.cpuUsPerRequest,
        0.7,
        'above',
      ),
      check(
        'raw / service CPU per PUT',
        raw.put.cpuUsPerRequest / one.put.cpuUsPerRequest,
        0.6,
        'above',
      ),
      check('service worst p99 (ms)', worstP99(one), 10, 'below'),
      check('WEB_CONCURRENCY=2 worst p99 (ms)', worstP99(two), 10, 'below'),
      check('WEB_CONCURRENCY=2 GET / single GET', two.get.rps / one.get.rps, 1.3, 'above'),
    ].join('\n'),
  );
} finally {
  for (const server of servers) {
    server.child.kill('SIGTERM');
    await new Promise((resolve) => server.child.once('exit', resolve));
  }
  rmSync(workDir, { recursive: true, force: true });
}
