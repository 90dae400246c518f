import { describe, expect, it } from '@jest/globals';
import { batchSize, parseInputs } from '../../action/inputs.js';

const BASE: Record<string, string> = {
  'ecr-repository': 'challenge-app',
  image: 'challenge-app:build',
  'instance-ids': 'i-0123456789abcdef0',
};

function parse(
  values: Record<string, string>,
  env: Record<string, string> = { AWS_REGION: 'eu-west-1' },
) {
  const all = { ...BASE, ...values };
  return parseInputs((name) => all[name] ?? '', env);
}

describe('the inputs', () => {
  it('apply the documented defaults', () => {
    expect(parse({})).toEqual({
      ecrRepository: 'challenge-app',
      region: 'eu-west-1',
      imageSource: { kind: 'push', localImage: 'challenge-app:build' },
      tagPrefix: 'v',
      fleet: { kind: 'ids', instanceIds: ['i-0123456789abcdef0'] },
      appDir: '/opt/challenge-app',
      healthUrl: 'http://localhost/health',
      healthVersion: { kind: 'json', path: 'version' },
      healthTimeoutSeconds: 120,
      maxParallel: { count: 1 },
      rollback: true,
      targetGroupArn: undefined,
      commandTimeoutSeconds: 600,
      dryRun: false,
      composeFile: undefined,
      env: [],
      envFromSsm: undefined,
      releaseParameter: undefined,
      canary: undefined,
      bakeSeconds: 0,
      alarmNames: [],
      maxFailures: { count: 0 },
    });
  });

  it('split instance ids on commas and newlines and drop duplicates', () => {
    const parsed = parse({
      'instance-ids': 'i-0123456789abcdef0,\n mi-0123456789abcdef1\ni-0123456789abcdef0\n',
    });
    expect(parsed.fleet).toEqual({
      kind: 'ids',
      instanceIds: ['i-0123456789abcdef0', 'mi-0123456789abcdef1'],
    });
  });

  it('read the Auto Scaling group tag as instance-tag', () => {
    const parsed = parse({
      'instance-ids': '',
      'instance-tag': 'aws:autoscaling:groupName=my-app-asg',
    });
    expect(parsed.fleet).toEqual({
      kind: 'tag',
      key: 'aws:autoscaling:groupName',
      value: 'my-app-asg',
    });
  });

  it('read an instance tag as Key=Value, splitting at the first =', () => {
    const parsed = parse({ 'instance-ids': '', 'instance-tag': 'App=challenge=app' });
    expect(parsed.fleet).toEqual({ kind: 'tag', key: 'App', value: 'challenge=app' });
  });

  it('read a promoted tag, booleans and percentages', () => {
    const parsed = parse({
      image: '',
      'source-tag': 'main-abc',
      'max-parallel': '25%',
      rollback: 'false',
      'dry-run': 'TRUE',
    });
    expect(parsed).toMatchObject({
      imageSource: { kind: 'promote', sourceTag: 'main-abc' },
      maxParallel: { percent: 25 },
      rollback: false,
      dryRun: true,
    });
  });

  it.each([
    [{ 'ecr-repository': '' }, 'Input ecr-repository is required.'],
    [{ 'ecr-repository': 'Bad Name' }, /ecr-repository/],
    [{ image: '', 'source-tag': '' }, 'Set exactly one of the inputs image and source-tag.'],
    [{ 'source-tag': 'main' }, 'Set exactly one of the inputs image and source-tag.'],
    [{ 'instance-tag': 'App=x' }, 'Set exactly one of the inputs instance-ids and instance-tag.'],
    [{ 'instance-ids': 'i-123' }, /instance-ids .* not valid: "i-123"/],
    [{ 'instance-ids': 'i-0123456789abcdef0;reboot' }, /instance-ids/],
    [{ 'instance-ids': '', 'instance-tag': 'App' }, /instance-tag must be Key=Value/],
    [{ 'app-dir': 'opt/app' }, /app-dir/],
    [{ 'app-dir': '/opt/$(reboot)' }, /app-dir/],
    [{ 'app-dir': '/opt/../etc' }, /app-dir/],
    [{ 'health-url': 'localhost/health' }, /health-url/],
    [{ 'health-url': 'http://localhost/health x' }, /health-url/],
    [{ 'health-timeout': '0' }, /health-timeout must be between 1 and 3600/],
    [{ 'health-timeout': '2m' }, /health-timeout must be a whole number/],
    [{ 'command-timeout': '100', 'health-timeout': '120' }, /command-timeout \(100 s\)/],
    [{ 'max-parallel': '0' }, 'Input max-parallel must be at least 1 instance, got "0".'],
    [{ 'ecr-repository': 'my___app' }, /not a valid ECR repository name: "my___app"/],
    [{ 'ecr-repository': 'my-app-' }, /ecr-repository/],
    [{ 'ecr-repository': 'team//app' }, /ecr-repository/],
    [{ 'instance-ids': 'i-0123456789abcdef' }, /not valid: "i-0123456789abcdef"/],
    [{ 'instance-ids': 'mi-0123456789abcdef' }, /not valid: "mi-0123456789abcdef"/],
    [{ 'max-parallel': '150%' }, /max-parallel must be between 1% and 100%/],
    [{ 'max-parallel': 'half' }, /max-parallel/],
    [{ rollback: 'yes' }, 'Input rollback must be true or false, got "yes".'],
    [{ 'dry-run': '1' }, /dry-run/],
    [{ 'tag-prefix': 'v1' }, /tag-prefix/],
    [{ 'target-group-arn': 'arn:aws:s3:::bucket' }, /target-group-arn/],
    [{ 'health-version': 'version' }, /Input health-version must be json:<field>/],
    [{ 'health-version': 'JSON:version' }, /health-version/],
    [{ 'health-version': 'json:' }, /health-version/],
    [{ 'health-version': 'json:a..b' }, /health-version/],
    [{ 'health-version': 'json:$(reboot)' }, /health-version/],
    [{ 'health-version': 'json:a b' }, /health-version/],
    [{ 'health-version': 'header:' }, /health-version/],
    [{ 'health-version': "header:X-Version'" }, /health-version/],
    [{ 'health-version': 'header:X Version' }, /health-version/],
    [{ 'health-version': 'none:' }, /health-version/],
    [{ 'compose-file': '/etc/passwd' }, /Input compose-file must be a path relative/],
    [{ 'compose-file': 'deploy/../../secrets.yml' }, /compose-file/],
    [{ 'compose-file': 'compose $(reboot).yml' }, /compose-file/],
    [{ env: 'NOT A NAME=1' }, /^Input env, line 1: expected KEY=value/],
    [{ env: 'A=1\nIMAGE=evil:latest' }, 'Input env, line 2: IMAGE is set by the deploy itself.'],
    [{ env: 'A=1\n\nAPP_VERSION=v1' }, /Input env, line 3: APP_VERSION/],
    [{ env: "TOKEN=it's" }, /Input env, line 1: the value of TOKEN holds a single quote/],
    [{ 'env-from-ssm': 'my-app/production' }, /Input env-from-ssm must be a Parameter Store path/],
    [{ 'env-from-ssm': '/my-app/$(reboot)/' }, /env-from-ssm/],
    [{ 'env-from-ssm': '/my app/' }, /env-from-ssm/],
    [{ 'env-from-ssm': '/my-app//x' }, /env-from-ssm/],
    [{ 'release-parameter': '/aws/app/release' }, /Input release-parameter must be an SSM/],
    [{ 'release-parameter': 'ssm-release' }, /release-parameter/],
    [{ 'release-parameter': '/app/release/' }, /release-parameter/],
    [{ 'release-parameter': '/app/$(reboot)' }, /release-parameter/],
  ])('refuse %j with a message that names the input', (values, message) => {
    expect(() => parse(values)).toThrow(message);
  });

  it.each(['my__app', 'my--app', 'my---app', 'team/my__svc', 'a.b_c-d/e--f__g', 'ab'])(
    'accept the ECR repository name %s (ECR allows "__" and runs of "-")',
    (name) => {
      expect(parse({ 'ecr-repository': name }).ecrRepository).toBe(name);
    },
  );

  it("accept every instance id SSM's pattern allows: i- with 8 or 17 characters, mi- with 17", () => {
    const valid = ['i-12345678', 'i-0123456789abcdef0', 'mi-0123456789abcdef0'];
    expect(parse({ 'instance-ids': valid.join(',') }).fleet).toEqual({
      kind: 'ids',
      instanceIds: valid,
    });
  });

  it.each([
    ['json:version', { kind: 'json', path: 'version' }],
    ['json:build.info.version', { kind: 'json', path: 'build.info.version' }],
    ['json:releases.0.tag', { kind: 'json', path: 'releases.0.tag' }],
    ['header:X-App-Version', { kind: 'header', name: 'X-App-Version' }],
    ['none', { kind: 'none' }],
  ])('read health-version %s', (raw, expected) => {
    expect(parse({ 'health-version': raw }).healthVersion).toEqual(expected);
  });

  it('read env entries, skipping blank lines and comments, a later entry for a key winning', () => {
    const parsed = parse({
      env: '# settings\nGREETING=hello world = yes\r\n\n  LOG_LEVEL=debug\nEMPTY=\nGREETING=$(not run)\n',
      'compose-file': 'deploy/docker-compose.prod.yml',
    });
    expect(parsed.env).toEqual([
      { key: 'LOG_LEVEL', value: 'debug' },
      { key: 'EMPTY', value: '' },
      { key: 'GREETING', value: '$(not run)' },
    ]);
    expect(parsed.composeFile).toBe('deploy/docker-compose.prod.yml');
    expect(parse({ 'env-from-ssm': '/my-app/production/' }).envFromSsm).toBe('/my-app/production/');
    expect(parse({ 'env-from-ssm': '/my-app/prod.eu_1' }).envFromSsm).toBe('/my-app/prod.eu_1');
    expect(parse({ 'release-parameter': '/my-app/prod/release' }).releaseParameter).toBe(
      '/my-app/prod/release',
    );
    expect(parse({ 'release-parameter': 'my-app-release' }).releaseParameter).toBe(
      'my-app-release',
    );
  });

  it('never put an env value into an error message', () => {
    expect(() => parse({ env: "API_TOKEN=s3cr3t'value" })).toThrow(/API_TOKEN/);
    expect(() => parse({ env: "API_TOKEN=s3cr3t'value" })).not.toThrow(/s3cr3t/);
    expect(() => parse({ env: 's3cr3t-without-a-key' })).not.toThrow(/s3cr3t/);
  });

  it('need a region from aws-region or AWS_REGION', () => {
    expect(() => parse({}, {})).toThrow(/aws-region is not set/);
    expect(parse({ 'aws-region': 'us-east-2' }, {}).region).toBe('us-east-2');
  });

  it('turn max-parallel into a batch size within the fleet', () => {
    expect(batchSize({ count: 2 }, 5)).toBe(2);
    expect(batchSize({ count: 10 }, 5)).toBe(5);
    expect(batchSize({ percent: 50 }, 5)).toBe(2);
    expect(batchSize({ percent: 10 }, 5)).toBe(1);
    expect(batchSize({ percent: 100 }, 120)).toBe(120);
  });
});
