// The fake endpoint's request validator against botocore's official models: each kind of
// constraint the models carry is caught, and valid requests pass untouched.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import {
  describeViolation,
  uncheckablePatterns,
  validateJsonRequest,
  validateQueryRequest,
  validationMessage,
} from './model-validator.js';
import { MODEL_VERSIONS, botocoreData, serviceModel, type ModelName } from './service-models.js';

const ecr = serviceModel('ecr');
const ssm = serviceModel('ssm');
const elbv2 = serviceModel('elbv2');
const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/0123456789abcdef';

/** `path: constraint` of each violation, for compact expectations. */
function found(violations: ReturnType<typeof validateJsonRequest>): string[] {
  return violations.map((v) => `${v.kind} ${v.path}: ${v.constraint}`);
}

const query = (entries: Record<string, string>): URLSearchParams =>
  new URLSearchParams({ Version: '2015-12-01', ...entries });

describe("botocore's service models", () => {
  it('come from a botocore new enough to know ECR imageStatus, and every pattern compiles', () => {
    expect(botocoreData().version).toMatch(/^1\.(4[3-9]|[5-9]\d|\d{3,})\./);
    for (const name of Object.keys(MODEL_VERSIONS) as ModelName[]) {
      const model = serviceModel(name);
      expect(model.metadata.apiVersion).toBe(MODEL_VERSIONS[name]);
      expect(uncheckablePatterns(model)).toEqual([]);
    }
    expect(ecr.shapes.DescribeImagesFilter?.members).toHaveProperty('imageStatus');
  });

  it('fail loudly, naming the way out, when the Python has no botocore or an old one', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ce2e-python-'));
    try {
      const missing = path.join(dir, 'python-without-botocore');
      writeFileSync(missing, '#!/bin/sh\necho "ModuleNotFoundError: botocore" >&2\nexit 1\n');
      chmodSync(missing, 0o755);
      expect(() => botocoreData(missing)).toThrow(/import botocore.*failed.*E2E_PYTHON/s);
      const debian = path.join(dir, 'debian-python');
      writeFileSync(
        debian,
        '#!/bin/sh\necho 1.29.16\necho /usr/lib/python3/dist-packages/botocore\n',
      );
      chmodSync(debian, 0o755);
      expect(() => botocoreData(debian)).toThrow(/botocore 1\.29\.16 .*older than 1\.43/s);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('JSON 1.1 requests (ECR, SSM)', () => {
  it('accepts what the action sends, including newer members and ECR names with __ and --', () => {
    for (const repositoryName of ['app', 'my__app', 'my--app', 'team/my__svc', 'a.b_c-d/e']) {
      expect(
        validateJsonRequest(ecr, 'DescribeImages', {
          repositoryName,
          filter: { tagStatus: 'TAGGED', imageStatus: 'ANY' },
          maxResults: 1000,
        }),
      ).toEqual([]);
    }
    expect(
      validateJsonRequest(ssm, 'SendCommand', {
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: ['i-0e2e0000000000001', 'i-12345678', 'mi-0123456789abcdef0'],
        Comment: 'challenge-deploy v3',
        TimeoutSeconds: 600,
        Parameters: { commands: ['echo hi'], executionTimeout: ['300'] },
      }),
    ).toEqual([]);
    expect(validateJsonRequest(ecr, 'GetAuthorizationToken', {})).toEqual([]);
  });

  it('catches a missing required member, a pattern, a range, an enum, a length, and a type', () => {
    expect(found(validateJsonRequest(ecr, 'DescribeImages', {}))).toEqual([
      'constraint repositoryName: Member must not be null',
    ]);
    expect(
      found(
        validateJsonRequest(ecr, 'DescribeImages', {
          repositoryName: 'My_App',
          maxResults: 0,
          filter: { tagStatus: 'SOMETIMES' },
        }),
      ),
    ).toEqual([
      expect.stringMatching(/^constraint repositoryName: Member must satisfy regular expression/),
      'constraint maxResults: Member must have value greater than or equal to 1',
      'constraint filter.tagStatus: Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]',
    ]);
    expect(
      found(validateJsonRequest(ecr, 'DescribeImages', { repositoryName: 'a', maxResults: '5' })),
    ).toEqual([
      'constraint repositoryName: Member must have length greater than or equal to 2',
      'type maxResults: Member must be of type integer',
    ]);
  });

  it('checks list lengths and each nested member with its path', () => {
    const tooMany = Array.from({ length: 51 }, (_, n) => `i-${String(n).padStart(17, '0')}`);
    expect(
      found(
        validateJsonRequest(ssm, 'SendCommand', {
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: tooMany,
        }),
      ),
    ).toEqual(['constraint instanceIds: Member must have length less than or equal to 50']);
    expect(
      found(
        validateJsonRequest(ssm, 'SendCommand', {
          DocumentName: 'AWS-RunShellScript',
          // 16 hex digits: not an instance id (8 or 17)
          InstanceIds: ['i-0e2e000000000001'],
          TimeoutSeconds: 29,
          Comment: 'x'.repeat(101),
          Parameters: { commands: 'echo hi' },
        }),
      ),
    ).toEqual([
      expect.stringMatching(/^constraint instanceIds\.1\.member: Member must satisfy regular/),
      'constraint timeoutSeconds: Member must have value greater than or equal to 30',
      'constraint comment: Member must have length less than or equal to 100',
      'type parameters.commands: Member must be of type list',
    ]);
    expect(
      found(
        validateJsonRequest(ecr, 'BatchGetImage', {
          repositoryName: 'app',
          imageIds: [{ imageTag: 'v1' }, { imageTag: '' }],
        }),
      ),
    ).toEqual([
      'constraint imageIds.2.member.imageTag: Member must have length greater than or equal to 1',
    ]);
    expect(
      found(
        validateJsonRequest(ssm, 'ListCommands', {
          Filters: [{ key: 'Comment', value: 'deploy' }],
        }),
      ),
    ).toEqual([
      expect.stringMatching(
        /^constraint filters\.1\.member\.key: Member must satisfy enum value set: \[InvokedAfter/,
      ),
    ]);
  });

  it('refuses members and operations the model does not have', () => {
    expect(
      found(
        validateJsonRequest(ecr, 'DescribeImages', {
          repositoryName: 'app',
          filter: { imageState: 'ANY' },
          bogus: 1,
        }),
      ),
    ).toEqual([
      'unknown bogus: DescribeImagesRequest has no member bogus in the ECR model',
      'unknown filter.imageState: DescribeImagesFilter has no member imageState in the ECR model',
    ]);
    expect(found(validateJsonRequest(ssm, 'SendCommands', {}))).toEqual([
      expect.stringMatching(/^unknown operation: the SSM model .* has no such operation$/),
    ]);
    expect(found(validateJsonRequest(ssm, 'SendCommand', []))).toEqual([
      'type : Member must be of type structure',
    ]);
  });

  it('words the error as AWS does', () => {
    const violations = validateJsonRequest(ssm, 'DescribeInstanceInformation', {
      MaxResults: 100,
    });
    expect(describeViolation(violations[0]!)).toBe(
      "Value '100' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50",
    );
    expect(validationMessage([...violations, ...violations])).toMatch(
      /^2 validation errors detected: Value '100' at 'maxResults' .*; Value '100'/,
    );
  });
});

describe('query requests (ELBv2)', () => {
  it('reads lists of structures and accepts what the SDK serialises', () => {
    const { input, violations } = validateQueryRequest(
      elbv2,
      'DescribeTargetHealth',
      query({
        Action: 'DescribeTargetHealth',
        TargetGroupArn: ARN,
        'Targets.member.1.Id': 'i-0e2e0000000000001',
        'Targets.member.1.Port': '80',
        'Targets.member.2.Id': 'i-0e2e0000000000002',
      }),
    );
    expect(violations).toEqual([]);
    expect(input).toEqual({
      TargetGroupArn: ARN,
      Targets: [{ Id: 'i-0e2e0000000000001', Port: 80 }, { Id: 'i-0e2e0000000000002' }],
    });
    expect(
      validateQueryRequest(
        elbv2,
        'DescribeTargetGroupAttributes',
        query({ Action: 'DescribeTargetGroupAttributes', TargetGroupArn: ARN }),
      ).violations,
    ).toEqual([]);
  });

  it('catches ranges, required nested members, types, gaps, unknown parameters and the version', () => {
    const check = (entries: Record<string, string>): string[] =>
      found(validateQueryRequest(elbv2, 'DescribeTargetHealth', query(entries)).violations);
    expect(
      check({
        TargetGroupArn: ARN,
        'Targets.member.1.Id': 'i-1',
        'Targets.member.1.Port': '70000',
      }),
    ).toEqual([
      'constraint targets.1.member.port: Member must have value less than or equal to 65535',
    ]);
    expect(check({ TargetGroupArn: ARN, 'Targets.member.1.Port': '80' })).toEqual([
      'constraint targets.1.member.id: Member must not be null',
    ]);
    expect(
      check({ TargetGroupArn: ARN, 'Targets.member.1.Id': 'i-1', 'Targets.member.1.Port': 'http' }),
    ).toEqual(['type targets.1.member.port: Member must be of type integer']);
    expect(check({ TargetGroupArn: ARN, 'Targets.member.2.Id': 'i-1' })).toEqual([
      'type targets: Member indexes must be 1..1 without gaps',
    ]);
    expect(check({ TargetGroupArn: ARN, TargetGroupName: 'app' })).toEqual([
      'unknown TargetGroupName: DescribeTargetHealth has no parameter TargetGroupName in the Elastic Load Balancing v2 model',
    ]);
    expect(check({})).toEqual(['constraint targetGroupArn: Member must not be null']);
    expect(
      found(
        validateQueryRequest(
          elbv2,
          'DescribeTargetHealth',
          new URLSearchParams({ Version: '2012-06-01', TargetGroupArn: ARN }),
        ).violations,
      ),
    ).toEqual(['constraint Version: Version must be 2015-12-01']);
  });
});
