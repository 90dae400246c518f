import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { publishRelease, runContext } from '../../action/release.js';

const ssmMock = mockClient(SSMClient);
beforeEach(() => {
  ssmMock.reset();
});

describe('the release record', () => {
  it('overwrites the parameter with the release as JSON', async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 4 });
    const release = {
      version: 'v8',
      image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v8',
      digest: `sha256:${'a'.repeat(64)}`,
      commit: 'abc123',
      run: 'https://github.com/o/r/actions/runs/42',
    };
    await publishRelease(new SSMClient({ region: 'eu-west-1' }), '/app/prod/release', release);
    const input = ssmMock.commandCalls(PutParameterCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ Name: '/app/prod/release', Type: 'String', Overwrite: true });
    expect(JSON.parse(input?.Value ?? '')).toEqual(release);
  });

  it('names the commit and the run from the runner environment', () => {
    expect(
      runContext({
        GITHUB_SHA: 'abc123',
        GITHUB_SERVER_URL: 'https://github.example.com',
        GITHUB_REPOSITORY: 'o/r',
        GITHUB_RUN_ID: '42',
      }),
    ).toEqual({ commit: 'abc123', run: 'https://github.example.com/o/r/actions/runs/42' });
    expect(runContext({})).toEqual({ commit: '', run: '' });
  });
});
