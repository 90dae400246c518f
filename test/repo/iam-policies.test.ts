// The IAM policies under examples/ are valid JSON and grant the deploy role exactly the AWS calls
// the action's code makes: no missing permission (the deploy would fail half-way) and no unused
// one (least privilege). The list of calls is derived from action/**/*.ts, so it follows the code.
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const root = join(import.meta.dirname, '..', '..');
const iamDir = join(root, 'examples', 'iam');

type Statement = {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
};
type Policy = { Version: string; Statement: Statement[] };

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name))
    .filter((file) => !/\.test\.ts$|\.generated\.ts$/.test(file));
}

/** IAM service prefix of each AWS SDK client package the action may use. */
const prefixes: Record<string, string> = {
  '@aws-sdk/client-ecr': 'ecr',
  '@aws-sdk/client-ssm': 'ssm',
  '@aws-sdk/client-elastic-load-balancing-v2': 'elasticloadbalancing',
  '@aws-sdk/client-cloudwatch': 'cloudwatch',
};

/** ELBv2 and SSM waiters call a describe operation under the hood. */
const waiterCalls: Record<string, string> = {
  waitUntilTargetDeregistered: 'DescribeTargetHealth',
  waitUntilTargetInService: 'DescribeTargetHealth',
  waitUntilCommandExecuted: 'GetCommandInvocation',
};

/**
 * `docker push` of a local image talks to the registry API, not the SDK; ECR authorizes it as
 * these actions (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html).
 */
const dockerPushActions = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:PutImage',
];

/** Every IAM action the action's code needs, with the file that makes each call. */
async function actionCalls(): Promise<Map<string, string>> {
  const calls = new Map<string, string>();
  for (const file of await sourceFiles(join(root, 'action'))) {
    const text = await readFile(join(file), 'utf8');
    const where = relative(root, file);
    for (const [, names, pkg] of text.matchAll(
      /import\s*\{([^}]*)\}\s*from\s*'(@aws-sdk\/[^']+)'/g,
    )) {
      const prefix = prefixes[pkg!];
      const imported = names!
        .split(',')
        .map((n) => n.replace(/^\s*type\s+/, '').trim())
        .filter(Boolean);
      for (const name of imported) {
        const used = new RegExp(`\\b${name}\\s*\\(`).test(text.replace(/import[^;]*;/g, ''));
        if (!used) continue;
        let operation: string | undefined;
        if (/^[A-Z]\w*Command$/.test(name) && name !== 'Command')
          operation = name.replace(/Command$/, '');
        else if (name.startsWith('paginate')) operation = name.slice('paginate'.length);
        else if (waiterCalls[name]) operation = waiterCalls[name];
        if (!operation) continue;
        expect({ file: where, package: pkg, known: prefix !== undefined }).toEqual({
          file: where,
          package: pkg,
          known: true,
        });
        calls.set(`${prefix}:${operation}`, where);
      }
    }
    if (/\[\s*'push'\s*,/.test(text)) {
      for (const action of dockerPushActions) calls.set(action, `${where} (docker push)`);
    }
  }
  return calls;
}

async function policy(name: string): Promise<Policy> {
  return JSON.parse(await readFile(join(iamDir, name), 'utf8')) as Policy;
}

function allowed(doc: Policy): Set<string> {
  return new Set(doc.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => list(s.Action)));
}

function statementsFor(doc: Policy, action: string): Statement[] {
  return doc.Statement.filter((s) => list(s.Action).includes(action));
}

describe('the IAM policies under examples/iam', () => {
  it('are valid IAM policy JSON documents', async () => {
    const files = (await readdir(iamDir)).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual([
      'deploy-role-policy.json',
      'github-oidc-trust-policy.json',
      'instance-role-policy.json',
      'instance-trust-policy.json',
    ]);
    for (const file of files) {
      const doc = await policy(file);
      expect({ file, version: doc.Version }).toEqual({ file, version: '2012-10-17' });
      for (const statement of doc.Statement) {
        expect(['Allow', 'Deny']).toContain(statement.Effect);
        expect(list(statement.Action).length).toBeGreaterThan(0);
        for (const action of list(statement.Action)) {
          expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/); // no wildcards
        }
      }
      const sids = doc.Statement.map((s) => s.Sid);
      expect(new Set(sids).size).toBe(sids.length);
    }
  });
});

describe('deploy-role-policy.json', () => {
  it('grants every call the action makes and nothing it does not make', async () => {
    const calls = await actionCalls();
    const granted = allowed(await policy('deploy-role-policy.json'));
    const missing = [...calls].filter(([a]) => !granted.has(a)).map(([a, f]) => `${a} (${f})`);
    const unused = [...granted].filter((a) => !calls.has(a));
    expect({ missing, unused }).toEqual({ missing: [], unused: [] });
    // The scan itself works: the core calls of a deploy are found in the source.
    expect([...calls.keys()]).toEqual(
      expect.arrayContaining([
        'ecr:DescribeImages',
        'ssm:SendCommand',
        'ssm:ListCommandInvocations',
      ]),
    );
  });

  it('scopes ECR to the repository, except GetAuthorizationToken which has no resource', async () => {
    const doc = await policy('deploy-role-policy.json');
    for (const action of allowed(doc)) {
      if (!action.startsWith('ecr:')) continue;
      for (const statement of statementsFor(doc, action)) {
        const resources = list(statement.Resource);
        if (action === 'ecr:GetAuthorizationToken') expect(resources).toEqual(['*']);
        else
          expect({ action, resources }).toEqual({
            action,
            resources: ['arn:aws:ecr:REGION:ACCOUNT_ID:repository/ECR_REPOSITORY'],
          });
      }
    }
  });

  it('allows SendCommand only with AWS-RunShellScript and only on instances carrying the tag', async () => {
    const statements = statementsFor(await policy('deploy-role-policy.json'), 'ssm:SendCommand');
    const resources = statements.flatMap((s) => list(s.Resource));
    expect(resources).not.toContain('*');
    const documents = statements.filter((s) =>
      list(s.Resource).some((r) => r.includes(':document/')),
    );
    expect(documents.flatMap((s) => list(s.Resource))).toEqual([
      'arn:aws:ssm:REGION::document/AWS-RunShellScript',
    ]);
    const instances = statements.filter((s) => !documents.includes(s));
    expect(instances.length).toBeGreaterThan(0);
    for (const statement of instances) {
      for (const resource of list(statement.Resource)) {
        expect(resource).toMatch(/:(instance|managed-instance)\/\*$/);
      }
      const conditionKeys = Object.values(statement.Condition ?? {}).flatMap(Object.keys);
      expect(conditionKeys).toEqual([expect.stringMatching(/^ssm:resourceTag\/.+/)]);
    }
  });

  it('lets the deploy role read alarm states (alarm-names) on every alarm: composite ones need *', async () => {
    // botocore cloudwatch 2010-08-01, DescribeAlarms: composite alarms are returned only with
    // cloudwatch:DescribeAlarms scoped to *.
    const statements = statementsFor(
      await policy('deploy-role-policy.json'),
      'cloudwatch:DescribeAlarms',
    );
    expect(statements.flatMap((s) => list(s.Resource))).toEqual(['*']);
    expect((await actionCalls()).get('cloudwatch:DescribeAlarms')).toBe('action/alarms.ts');
  });

  it('lets the deploy role write the one release parameter', async () => {
    const statements = statementsFor(await policy('deploy-role-policy.json'), 'ssm:PutParameter');
    expect(statements.flatMap((s) => list(s.Resource))).toEqual([
      'arn:aws:ssm:REGION:ACCOUNT_ID:parameter/APP_RELEASE_PARAMETER',
    ]);
  });

  it('limits target group changes to one target group', async () => {
    const doc = await policy('deploy-role-policy.json');
    for (const action of [
      'elasticloadbalancing:RegisterTargets',
      'elasticloadbalancing:DeregisterTargets',
    ]) {
      for (const statement of statementsFor(doc, action)) {
        expect(list(statement.Resource)).toEqual([
          'arn:aws:elasticloadbalancing:REGION:ACCOUNT_ID:targetgroup/TARGET_GROUP_NAME/*',
        ]);
      }
    }
  });
});

describe('github-oidc-trust-policy.json', () => {
  it('lets only the production environment of one repository assume the role', async () => {
    const [statement, ...others] = (await policy('github-oidc-trust-policy.json')).Statement;
    expect(others).toEqual([]);
    expect(statement).toMatchObject({
      Effect: 'Allow',
      Action: 'sts:AssumeRoleWithWebIdentity',
      Principal: {
        Federated: 'arn:aws:iam::ACCOUNT_ID:oidc-provider/token.actions.githubusercontent.com',
      },
    });
    expect(statement!.Condition).toEqual({
      StringEquals: {
        'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
        'token.actions.githubusercontent.com:sub': 'repo:YOUR_ORG/YOUR_REPO:environment:production',
      },
    });
  });
});

/**
 * The IAM actions of the `aws <service> <command>` calls in the instance script (the CLI's
 * kebab-case command is the API operation; get-login-password calls GetAuthorizationToken).
 */
async function instanceScriptCalls(): Promise<string[]> {
  const script = [
    await readFile(join(root, 'action', 'scripts', 'deploy.sh'), 'utf8'),
    await readFile(join(root, 'examples', 'instance', 'user-data.sh'), 'utf8'),
  ].join('\n');
  const calls = new Set<string>();
  for (const [, service, command] of script.matchAll(/\baws (ecr|ssm) ([a-z-]+)/g)) {
    const operation =
      command === 'get-login-password'
        ? 'GetAuthorizationToken'
        : command!.replace(/(^|-)([a-z])/g, (_, _dash: string, c: string) => c.toUpperCase());
    calls.add(`${service}:${operation}`);
  }
  return [...calls].sort();
}

describe('instance-role-policy.json', () => {
  it('grants the aws calls of the instance script and user-data and the pull, nothing else', async () => {
    const calls = await instanceScriptCalls();
    expect(calls).toEqual([
      'ecr:GetAuthorizationToken',
      'ssm:GetParameter',
      'ssm:GetParametersByPath',
    ]);
    const doc = await policy('instance-role-policy.json');
    // docker pull is authorized as these (the registry API, not the CLI).
    const pull = [
      'ecr:BatchCheckLayerAvailability',
      'ecr:BatchGetImage',
      'ecr:GetDownloadUrlForLayer',
    ];
    expect([...allowed(doc)].sort()).toEqual([...calls, ...pull].sort());
    for (const statement of doc.Statement) {
      const actions = list(statement.Action);
      expect(list(statement.Resource)).toEqual(
        actions.includes('ecr:GetAuthorizationToken')
          ? ['*']
          : actions.includes('ssm:GetParameter')
            ? ['arn:aws:ssm:REGION:ACCOUNT_ID:parameter/APP_RELEASE_PARAMETER']
            : actions.includes('ssm:GetParametersByPath')
              ? [
                  'arn:aws:ssm:REGION:ACCOUNT_ID:parameter/APP_PARAMETER_PATH',
                  'arn:aws:ssm:REGION:ACCOUNT_ID:parameter/APP_PARAMETER_PATH/*',
                ]
              : ['arn:aws:ecr:REGION:ACCOUNT_ID:repository/ECR_REPOSITORY'],
      );
    }
  });

  it('is assumable by EC2 only', async () => {
    const doc = await policy('instance-trust-policy.json');
    expect(doc.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'ec2.amazonaws.com' },
        Action: 'sts:AssumeRole',
      }),
    ]);
  });
});
