/**
 * Rollout cost at fleet scale (issue 14): runs dist/index.js as the GitHub runner runs it (INPUT_*
 * variables, the file commands, main then post) against a local AWS endpoint that simulates N
 * SSM-managed instances whose instance script takes a fixed time and enforces SSM request rates
 * with token buckets, and prints per case: wall time against the ideal (batches × script time),
 * SSM calls by operation and per instance, throttled calls, the action's peak RSS and the size of
 * its job summary and log. Also the time from `node dist/index.js` to its first AWS call and the
 * bundle size.
 *
 *   npm run bench:rollout                       every case (N = 10 … 1,000; ~15 to 30 min)
 *   npm run bench:rollout -- --instances 10,100 only these fleet sizes
 *   npm run bench:rollout -- --max-parallel 10%,25% only these max-parallel values
 *   npm run bench:rollout -- --quick            N = 10 at 100 % only (the smoke case)
 *   options: --script-ms 2000  --jobs 1  --rates SendCommand=5/10,…  --json results.json
 */
import { statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseRates } from './rollout/rate-limits.js';
import { ROOT, runCase, type CaseResult, type RolloutCase } from './rollout/run-case.js';
import { renderTable } from './rollout/table.js';

/** The issue's matrix: max-parallel 1 only up to 100 instances, one case with 1 in 100 failing. */
function allCases(): RolloutCase[] {
  const cases: RolloutCase[] = [];
  for (const instances of [10, 100, 500, 1000]) {
    for (const maxParallel of ['1', '10%', '25%', '100%']) {
      if (maxParallel === '1' && instances > 100) continue;
      cases.push({ instances, maxParallel });
    }
  }
  // The 50th of 100 fails in batch 2 of 4: the failure, the stop and the rollback of 49.
  cases.push({ instances: 100, maxParallel: '25%', failing: [50] });
  return cases;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'script-ms': { type: 'string', default: '2000' },
      instances: { type: 'string' },
      'max-parallel': { type: 'string' },
      quick: { type: 'boolean', default: false },
      jobs: { type: 'string', default: '1' },
      rates: { type: 'string', default: '' },
      json: { type: 'string' },
    },
  });
  const scriptMs = Number(values['script-ms']);
  const rates = parseRates(values.rates);
  const sizes = values.instances?.split(',').map(Number);
  let cases = values.quick ? [{ instances: 10, maxParallel: '100%' }] : allCases();
  if (sizes) cases = cases.filter((c) => sizes.includes(c.instances));
  const parallel = values['max-parallel']?.split(',');
  if (parallel) cases = cases.filter((c) => parallel.includes(c.maxParallel));
  const jobs = Math.max(1, Number(values.jobs));

  const bundle = statSync(path.join(ROOT, 'dist', 'index.js')).size;
  console.log(
    `${new Date().toISOString().slice(0, 10)} · ${os.cpus().length} vCPU (${os.cpus()[0]?.model ?? '?'}) · node ${process.version} · script ${scriptMs} ms · ${cases.length} case(s), ${jobs} at a time`,
  );
  console.log(`dist/index.js: ${(bundle / 1024).toFixed(0)} KiB`);

  const results: CaseResult[] = new Array<CaseResult>(cases.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: jobs }, async () => {
      while (next < cases.length) {
        const index = next++;
        const c = cases[index] as RolloutCase;
        const result = await runCase(c, { scriptMs, rates });
        results[index] = result;
        console.error(
          `  ${result.label}: ${(result.wallMs / 1000).toFixed(1)} s, ${result.ssmCalls} SSM calls${result.problem ? `, FAILED: ${result.problem}` : ''}`,
        );
      }
    }),
  );

  const firstCalls = results.map((r) => r.firstCallMs).sort((a, b) => a - b);
  const median = firstCalls[Math.floor(firstCalls.length / 2)] ?? 0;
  console.log(
    `node dist/index.js to the first AWS call: median ${median} ms (min ${firstCalls[0]}, max ${firstCalls.at(-1)})`,
  );
  console.log('');
  console.log(renderTable(results, scriptMs));
  if (values.json)
    writeFileSync(values.json, JSON.stringify({ scriptMs, bundle, results }, null, 2));
  if (results.some((r) => r.problem)) process.exitCode = 1;
}

await main();
