// The served OpenAPI document, linted by Redocly CLI with its `recommended` ruleset: what API
// consumers' tooling will say about it.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { openApiDocument } from '../../service/openapi.js';

const root = join(import.meta.dirname, '..', '..');
const redocly = join(root, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: {
    ruleId: string;
    severity: string;
    message: string;
    location: { pointer: string }[];
  }[];
}

let dir = '';
let report: LintReport;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'openapi-lint-'));
  const file = join(dir, 'openapi.json');
  await writeFile(file, JSON.stringify(openApiDocument('v1'), null, 2));
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [redocly, 'lint', file, '--extends=recommended', '--format=json'],
      // No telemetry and no update check: CI has no network, and a lint has no business with it.
      { env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } },
      // Redocly exits 1 when it finds errors; the report on stdout says which.
      (error, out, stderr) =>
        out ? resolve(out) : reject(new Error(`redocly lint: ${error?.message}\n${stderr}`)),
    );
  });
  report = JSON.parse(stdout) as LintReport;
}, 60_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

const summary = (problems: LintReport['problems']) =>
  problems.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);

describe("Redocly's recommended rules", () => {
  test('find no errors in the OpenAPI document', () => {
    expect(summary(report.problems.filter((p) => p.severity === 'error'))).toEqual([]);
    expect(report.totals.errors).toBe(0);
  });

  test('warn only that the service endpoints have no 4xx answer, which they never give', () => {
    const warnings = report.problems.filter((p) => p.severity !== 'error');
    expect(summary(warnings)).toEqual(
      ['/health', '/ready', '/metrics', '/openapi.json', '/docs'].map(
        (path) =>
          `operation-4xx-response at #/paths/${path.replaceAll('/', '~1')}/get/responses: Operation must have at least one \`4XX\` response.`,
      ),
    );
  });
});
