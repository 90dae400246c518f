// npm run check:balance -- --url URL [--requests N] [--expect-version vN] [--expect-instances N]
// Exits 0 when every check passes, 1 when one fails, 2 on a usage error.
import { parseArgs } from 'node:util';
import { checkBalance, formatReport, type BalanceOptions } from './balance-check.js';

const usage = `Usage: npm run check:balance -- --url URL [options]

Sends requests through a load balancer and checks the fleet behind it:
  - how /health requests spread over the instances (from /health's "instance")
  - every instance reports the expected version (--expect-version)
  - a document written through the balancer is read back from every instance, then deleted
    (needs the API token in the API_TOKEN environment variable; skipped without it)

Options:
  --url URL               the load balancer, e.g. http://my-alb-123.eu-west-1.elb.amazonaws.com
  --requests N            requests to /health (default 20)
  --expect-version vN     fail unless every instance reports this version
  --expect-instances N    fail unless at least N distinct instances answer
  --timeout SECONDS       per request (default 5)
  --instance-header NAME  response header naming the instance on /json reads
                          (default: x-instance-id, then x-served-by)
  -h, --help`;

function fail(message: string): never {
  console.error(`check:balance: ${message}\n\n${usage}`);
  process.exit(2);
}

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^[1-9]\d*$/.test(value)) fail(`--${name} must be a positive integer, got "${value}"`);
  return Number(value);
}

function parseOptions(argv: string[]): BalanceOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        requests: { type: 'string' },
        'expect-version': { type: 'string' },
        'expect-instances': { type: 'string' },
        timeout: { type: 'string' },
        'instance-header': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    fail((error as Error).message);
  }
  if (parsed.help) {
    console.log(usage);
    process.exit(0);
  }
  const url = parsed.url;
  if (!url) fail('--url is required');
  if (!/^https?:\/\//.test(url) || !URL.canParse(url))
    fail(`--url must be an http(s) URL, got "${url}"`);
  const expectVersion = parsed['expect-version'];
  return {
    url,
    requests: positiveInteger('requests', parsed.requests, 20),
    expectVersion: expectVersion === '' ? undefined : expectVersion,
    expectInstances:
      parsed['expect-instances'] === undefined
        ? undefined
        : positiveInteger('expect-instances', parsed['expect-instances'], 1),
    timeoutMs: positiveInteger('timeout', parsed.timeout, 5) * 1000,
    token: process.env.API_TOKEN,
    instanceHeaders: parsed['instance-header']
      ? [parsed['instance-header']]
      : ['x-instance-id', 'x-served-by'],
  };
}

const options = parseOptions(process.argv.slice(2));
const report = await checkBalance(options);
console.log(formatReport(options, report));
process.exitCode = report.ok ? 0 : 1;
