// The official AWS service models (botocore's `service-2.json`), read at run time from the
// machine's Python: the fake endpoint checks every request against them. Nothing is copied into
// the repository, so the check follows whatever botocore the image carries.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

/** A shape of a botocore model, as far as request validation reads it. */
export interface ModelShape {
  type: string;
  members?: Record<string, { shape: string; locationName?: string }>;
  required?: string[];
  member?: { shape: string; locationName?: string };
  key?: { shape: string };
  value?: { shape: string };
  flattened?: boolean;
  union?: boolean;
  document?: boolean;
  min?: number;
  max?: number;
  enum?: string[];
  pattern?: string;
}

export interface ServiceModel {
  metadata: {
    apiVersion: string;
    protocol: string;
    serviceId: string;
    signingName?: string;
    targetPrefix?: string;
  };
  operations: Record<string, { name: string; input?: { shape: string } }>;
  shapes: Record<string, ModelShape>;
  /** The botocore release the model came from (for messages). */
  botocore: string;
}

/** The API versions the fake speaks (`data/<service>/<version>/service-2.json.gz`). */
export const MODEL_VERSIONS = {
  ecr: '2015-09-21',
  ssm: '2014-11-06',
  elbv2: '2015-12-01',
  cloudwatch: '2010-08-01',
} as const;
export type ModelName = keyof typeof MODEL_VERSIONS;

// Debian's python3-botocore (1.29, 2022) lacks members the action sends (ECR imageStatus, …):
// validating against it would reject valid requests. The image's own Python carries 1.43.
const MINIMUM_BOTOCORE = [1, 43] as const;

const located = new Map<string, { version: string; dataDir: string }>();

/** Where botocore's models are: `$E2E_PYTHON` (default `python3`) is asked. Throws if unusable. */
export function botocoreData(python = process.env.E2E_PYTHON ?? 'python3'): {
  version: string;
  dataDir: string;
} {
  const known = located.get(python);
  if (known) return known;
  let out: string;
  try {
    out = execFileSync(
      python,
      [
        '-c',
        'import botocore, os; print(botocore.__version__); print(os.path.dirname(botocore.__file__))',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (error) {
    throw new Error(
      `the fake AWS endpoint validates requests against botocore's service models, but '${python} -c "import botocore"' failed ` +
        `(${error instanceof Error ? error.message.split('\n')[0] : String(error)}). Run the suite with the image's Python ` +
        `(botocore ${MINIMUM_BOTOCORE.join('.')} or newer) first on PATH, or set E2E_PYTHON to it.`,
      { cause: error },
    );
  }
  const [version = '', dir = ''] = out.trim().split('\n');
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (
    major < MINIMUM_BOTOCORE[0] ||
    (major === MINIMUM_BOTOCORE[0] && minor < MINIMUM_BOTOCORE[1])
  ) {
    throw new Error(
      `${python} has botocore ${version} (${dir}), older than ${MINIMUM_BOTOCORE.join('.')}: its service models lack ` +
        `members real AWS accepts (e.g. ECR DescribeImages filter.imageStatus). Use the image's Python, or set E2E_PYTHON.`,
    );
  }
  const found = { version, dataDir: path.join(dir, 'data') };
  located.set(python, found);
  return found;
}

const cache = new Map<ModelName, ServiceModel>();

/** The model of one service, loaded once per process. */
export function serviceModel(name: ModelName): ServiceModel {
  const cached = cache.get(name);
  if (cached) return cached;
  const { version, dataDir } = botocoreData();
  const file = path.join(dataDir, name, MODEL_VERSIONS[name], 'service-2.json.gz');
  if (!existsSync(file)) {
    throw new Error(`botocore ${version} has no model ${file} (${name} ${MODEL_VERSIONS[name]})`);
  }
  const model = {
    ...(JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as Omit<
      ServiceModel,
      'botocore'
    >),
    botocore: version,
  };
  cache.set(name, model);
  return model;
}
