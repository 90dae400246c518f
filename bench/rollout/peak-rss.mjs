// Preloaded into the action's process (NODE_OPTIONS=--import): on exit, appends the process's
// peak resident set size in kB to BENCH_RSS_FILE, which the benchmark reads back.
import { appendFileSync } from 'node:fs';

const file = process.env.BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    appendFileSync(file, `${process.resourceUsage().maxRSS}\n`);
  });
}
