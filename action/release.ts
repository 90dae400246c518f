import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';

/**
 * What `release-parameter` holds after a fully successful deploy: enough for a new instance
 * (Auto Scaling, replacement) to start the current release at boot (examples/instance/user-data.sh).
 */
export interface Release {
  version: string;
  /** `<registry>/<repository>:<version>` */
  image: string;
  digest: string;
  commit: string;
  /** The workflow run's URL. */
  run: string;
}

/** Parameter Store names: a path of letters, digits, "_", "." and "-", or one such name. */
export const RELEASE_PARAMETER = /^(\/[A-Za-z0-9_.-]+)+$|^[A-Za-z0-9_.-]+$/;
/** Names AWS keeps for itself. */
export const RESERVED_PREFIX = /^\/?(aws|ssm)/i;

/** The run the deploy belongs to, from the variables every GitHub runner sets. */
export function runContext(
  env: Record<string, string | undefined>,
): Pick<Release, 'commit' | 'run'> {
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const run =
    env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
      ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : '';
  return { commit: env.GITHUB_SHA ?? '', run };
}

/** Overwrites the parameter with the release as JSON (a String parameter: nothing in it is secret). */
export async function publishRelease(
  ssm: SSMClient,
  name: string,
  release: Release,
): Promise<void> {
  await ssm.send(
    new PutParameterCommand({
      Name: name,
      Value: JSON.stringify(release),
      Type: 'String',
      Overwrite: true,
      Description: `challenge-deploy: the release new instances start (${release.version})`,
    }),
  );
}
