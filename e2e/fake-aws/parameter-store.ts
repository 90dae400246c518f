// SSM Parameter Store: PutParameter, GetParameter and GetParametersByPath, with the names, limits,
// paging and errors of the real service (API reference and the botocore model: PSParameterName,
// GetParametersByPathMaxResults 1–10). SecureString values are kept with a ciphertext of their
// own, which is what a reader without WithDecryption gets, as from KMS.
import { randomBytes } from 'node:crypto';
import { AwsError, epochSeconds, paginate, type JsonOperation } from './protocol.js';

export type ParameterType = 'String' | 'StringList' | 'SecureString';
const TYPES: readonly string[] = ['String', 'StringList', 'SecureString'];

export interface StoredParameter {
  name: string;
  type: ParameterType;
  /** The plain value (decrypted, for a SecureString). */
  value: string;
  /** What GetParameter answers for a SecureString read without WithDecryption. */
  ciphertext: string;
  version: number;
  tier: 'Standard' | 'Advanced';
  keyId?: string;
  description: string;
  lastModified: Date;
}

export interface ParameterStore {
  operations: Record<string, JsonOperation>;
  /** The current version of a parameter, for assertions (undefined: none). */
  get(name: string): StoredParameter | undefined;
  /** Every version ever written, oldest first. */
  history(name: string): readonly StoredParameter[];
}

// Limits of the real service (Parameter Store quotas): 15 levels, 4 KB Standard, 8 KB Advanced.
const MAX_LEVELS = 15;
const MAX_STANDARD_VALUE = 4096;
const MAX_ADVANCED_VALUE = 8192;
/** GetParametersByPath answers at most 10 parameters a call (the model's max and its default). */
const BY_PATH_PAGE = 10;
const DEFAULT_KEY = 'alias/aws/ssm';
const NAME_CHARS = /^[A-Za-z0-9_.\-/]+$/;
const RESERVED = /^\/?(aws|ssm)/i;

const NAME_RULES =
  'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_';
const PATH_RULES =
  'The parameter doesn\'t meet the parameter name requirements. The parameter name must begin with a forward slash "/". It can\'t be prefixed with "aws" or "ssm" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol "/". Valid example: /get/parameters2-/by1./path0_.';

function validation(message: string): AwsError {
  return new AwsError('ValidationException', message);
}

/** A name PutParameter accepts: a plain name, or a path that starts with "/" (at most 15 levels). */
function checkName(name: string): void {
  const hierarchical = name.includes('/');
  if (
    !NAME_CHARS.test(name) ||
    RESERVED.test(name) ||
    (hierarchical && (!name.startsWith('/') || name.includes('//') || name.endsWith('/')))
  ) {
    throw validation(NAME_RULES);
  }
  if (name.split('/').length - 1 > MAX_LEVELS) {
    throw new AwsError(
      'HierarchyLevelLimitExceededException',
      `A hierarchy can have a maximum of ${MAX_LEVELS} levels. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-su-create.html`,
    );
  }
}

/** GetParametersByPath's Path: "/" or a path of valid segments (a trailing "/" is allowed). */
function checkPath(path: string): void {
  if (path === '/') return;
  const body = path.endsWith('/') ? path.slice(0, -1) : path;
  if (!path.startsWith('/') || !NAME_CHARS.test(path) || body.includes('//') || body === '') {
    throw validation(PATH_RULES);
  }
  if (body.split('/').length - 1 > MAX_LEVELS) throw validation(PATH_RULES);
}

function optionalBoolean(input: Record<string, unknown>, name: string): boolean {
  return input[name] === true;
}

export function parameterStore(options: { region: string; accountId: string }): ParameterStore {
  /** name → every version, oldest first. */
  const parameters = new Map<string, StoredParameter[]>();

  const current = (name: string): StoredParameter | undefined => parameters.get(name)?.at(-1);

  function arn(name: string): string {
    return `arn:aws:ssm:${options.region}:${options.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
  }

  function answer(
    p: StoredParameter,
    decrypt: boolean,
    selector?: string,
  ): Record<string, unknown> {
    return {
      Name: p.name,
      Type: p.type,
      Value: p.type === 'SecureString' && !decrypt ? p.ciphertext : p.value,
      Version: p.version,
      ...(selector ? { Selector: selector } : {}),
      LastModifiedDate: epochSeconds(p.lastModified),
      ARN: arn(p.name),
      DataType: 'text',
    };
  }

  const operations: Record<string, JsonOperation> = {
    PutParameter: (input) => {
      const name = String(input.Name);
      const value = String(input.Value);
      checkName(name);
      if (value.length === 0) {
        throw validation(
          "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1.",
        );
      }
      const previous = current(name);
      const overwrite = optionalBoolean(input, 'Overwrite');
      if (overwrite && input.Tags !== undefined) {
        throw validation(
          "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
        );
      }
      if (previous && !overwrite) {
        throw new AwsError(
          'ParameterAlreadyExists',
          'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
        );
      }
      const type = (input.Type as ParameterType | undefined) ?? previous?.type;
      if (type === undefined || !TYPES.includes(type)) {
        throw validation('A parameter type is required when you create a parameter.');
      }
      const tier =
        input.Tier === 'Advanced' || previous?.tier === 'Advanced' ? 'Advanced' : 'Standard';
      const limit = tier === 'Advanced' ? MAX_ADVANCED_VALUE : MAX_STANDARD_VALUE;
      if (Buffer.byteLength(value) > limit) {
        throw validation(
          tier === 'Standard'
            ? 'Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html'
            : `Advanced tier parameters support a maximum parameter value of ${MAX_ADVANCED_VALUE} characters.`,
        );
      }
      const keyId =
        type === 'SecureString'
          ? ((input.KeyId as string | undefined) ?? previous?.keyId ?? DEFAULT_KEY)
          : undefined;
      const stored: StoredParameter = {
        name,
        type,
        value,
        // A KMS ciphertext blob's shape (base64, "AQICAH…"), with nothing of the value in it.
        ciphertext: `AQICAH${randomBytes(96).toString('base64')}`,
        version: (previous?.version ?? 0) + 1,
        tier,
        keyId,
        description:
          typeof input.Description === 'string' ? input.Description : (previous?.description ?? ''),
        lastModified: new Date(),
      };
      parameters.set(name, [...(parameters.get(name) ?? []), stored]);
      return { Version: stored.version, Tier: tier };
    },

    GetParameter: (input) => {
      const raw = String(input.Name);
      // `name:version` selects a version (labels are not simulated).
      const at = raw.lastIndexOf(':');
      const selector = at > 0 ? raw.slice(at + 1) : undefined;
      const name = selector === undefined ? raw : raw.slice(0, at);
      const versions = parameters.get(name);
      if (!versions) throw new AwsError('ParameterNotFound', `Parameter ${name} not found.`);
      let found = versions.at(-1)!;
      if (selector !== undefined) {
        const wanted = versions.find((p) => String(p.version) === selector);
        if (!wanted) {
          throw new AwsError(
            'ParameterVersionNotFound',
            `Systems Manager could not find version ${selector} of ${name}. Verify the version and try again.`,
          );
        }
        found = wanted;
      }
      return {
        Parameter: answer(
          found,
          optionalBoolean(input, 'WithDecryption'),
          selector === undefined ? undefined : `:${selector}`,
        ),
      };
    },

    GetParametersByPath: (input) => {
      const path = String(input.Path);
      checkPath(path);
      const prefix = path === '/' ? '/' : `${path.replace(/\/$/, '')}/`;
      const recursive = optionalBoolean(input, 'Recursive');
      const filters = (input.ParameterFilters ?? []) as Array<{
        Key: string;
        Option?: string;
        Values?: string[];
      }>;
      for (const filter of filters) {
        if (!['Type', 'KeyId', 'Label'].includes(filter.Key)) {
          throw new AwsError(
            'InvalidFilterKey',
            `The following filter key is not valid: ${filter.Key}. Valid filter keys include: [Type, KeyId].`,
          );
        }
        if ((filter.Option ?? 'Equals') !== 'Equals') {
          throw new AwsError(
            'InvalidFilterOption',
            `The following filter option is not valid: ${filter.Option}. Valid options include: [Equals].`,
          );
        }
      }
      const matching = [...parameters.keys()]
        .filter((name) => name.startsWith(prefix))
        .filter((name) => recursive || !name.slice(prefix.length).includes('/'))
        .sort()
        .map((name) => current(name)!)
        .filter((p) =>
          filters.every((f) => {
            const values = f.Values ?? [];
            if (f.Key === 'Type') return values.includes(p.type);
            if (f.Key === 'KeyId') return p.keyId !== undefined && values.includes(p.keyId);
            return false; // Label: no parameter carries labels here
          }),
        );
      const { page, next } = paginate(matching, input.NextToken, input.MaxResults, BY_PATH_PAGE);
      const decrypt = optionalBoolean(input, 'WithDecryption');
      return { Parameters: page.map((p) => answer(p, decrypt)), NextToken: next };
    },
  };

  return {
    operations,
    get: current,
    history: (name) => parameters.get(name) ?? [],
  };
}
