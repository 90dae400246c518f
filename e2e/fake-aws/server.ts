// The fake AWS endpoint (AWS_ENDPOINT_URL): one node:http server that routes AWS JSON calls by
// `X-Amz-Target` (ECR, SSM: 1.1; CloudWatch: 1.0) and AWS query calls by `Action` (ELBv2), checks every request
// against the service's official model before a handler sees it, and logs every call.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  validateJsonRequest,
  validateJsonResponse,
  validateQueryRequest,
  validationMessage,
  type Violation,
} from './model-validator.js';
import { AwsError, jsonError, sigV4Scope, type JsonOperation } from './protocol.js';
import type { ServiceModel } from './service-models.js';

/** An ELBv2 (query protocol) operation: form parameters in, the XML result element's body out. */
export type QueryOperation = (params: URLSearchParams) => Promise<string> | string;

export interface LoggedCall {
  at: number;
  /** The caller's access key id (from the SigV4 scope): who made the call. */
  caller: string;
  service: string;
  operation: string;
  status: number;
  errorType?: string;
  ms: number;
}

/** A request the model refused: the scenario that made it must fail. */
export interface RecordedViolation {
  at: number;
  caller: string;
  service: string;
  operation: string;
  violations: Violation[];
}

export interface JsonService {
  signingName: string;
  /** The official model every request is checked against (service-models.ts). */
  model: ServiceModel;
  /**
   * The error code the service answers a constraint violation with: `ValidationException` for
   * most JSON services, ECR's is `InvalidParameterException`.
   */
  validationError?: string;
  /** AWS JSON 1.1 unless `1.0` (CloudWatch); requests of the other version are refused. */
  jsonVersion?: '1.0' | '1.1';
  /**
   * The model's `awsQueryCompatible` (CloudWatch, moved from the query protocol): errors carry
   * `x-amzn-query-error: <query code>;Sender|Receiver`, which the SDK reads the code from, and
   * `__type` names the error's shape.
   */
  awsQueryCompatible?: boolean;
  operations: Record<string, JsonOperation>;
}

export interface FakeAwsServices {
  /** X-Amz-Target prefix (e.g. `AmazonSSM`) → SigV4 service name, model and operations. */
  json: Record<string, JsonService>;
  /** ELBv2 query-protocol operations (constraint violations answer `ValidationError`), if any. */
  query?: {
    signingName: string;
    xmlns: string;
    model: ServiceModel;
    operations: Record<string, QueryOperation>;
  };
}

/** How a lost response looks to the client: the connection reset, or a 5xx after the work. */
export type LostResponse = 'reset' | 500 | 503;

export interface FakeAws {
  url: string;
  /** Every call so far, oldest first. */
  readonly calls: LoggedCall[];
  /** Every request the service model refused, oldest first (each was answered with an error). */
  readonly violations: RecordedViolation[];
  /**
   * The next call of `operation` is carried out (its handler runs: a SendCommand's command
   * really starts), then its response is lost the way `how` says, as on a network or front-end
   * failure after the service acted. Logged with status 0 (reset) or the 5xx.
   */
  loseNextResponse(operation: string, how: LostResponse): void;
  close(): Promise<void>;
}

export async function startFakeAws(
  services: FakeAwsServices,
  options: { host: string; port?: number; region: string },
): Promise<FakeAws> {
  const calls: LoggedCall[] = [];
  const violations: RecordedViolation[] = [];
  const losing = new Map<string, LostResponse>();

  /** Records the violations and answers with the error the service would give (throws). */
  function refuse(
    req: http.IncomingMessage,
    service: string,
    operation: string,
    found: Violation[],
    constraintError: string,
    json: boolean,
  ): never {
    violations.push({
      at: Date.now(),
      caller: sigV4Scope(req.headers.authorization)?.accessKeyId ?? '',
      service,
      operation,
      violations: found,
    });
    const typeError = found.find((v) => v.kind === 'type');
    if (typeError && json) {
      // AWS JSON services refuse a value of the wrong JSON type before validating constraints.
      throw new AwsError(
        'SerializationException',
        `${typeError.constraint} at '${typeError.path}', got ${typeError.value}`,
      );
    }
    throw new AwsError(constraintError, validationMessage(found));
  }

  async function route(
    req: http.IncomingMessage,
    body: string,
  ): Promise<{
    status: number;
    type: string;
    body: string;
    log: Omit<LoggedCall, 'at' | 'ms' | 'status' | 'caller'>;
    headers?: Record<string, string>;
  }> {
    const target = req.headers['x-amz-target'];
    const scope = sigV4Scope(req.headers.authorization);
    if (typeof target === 'string') {
      const [prefix = '', operation = ''] = target.split('.');
      const service = services.json[prefix];
      const log = { service: service?.signingName ?? prefix, operation };
      const type = `application/x-amz-json-${service?.jsonVersion ?? '1.1'}`;
      try {
        if (!service) throw new AwsError('UnknownOperationException', `Unknown target ${target}`);
        checkScope(scope, service.signingName, options.region);
        if (req.headers['content-type'] !== type) {
          throw new AwsError(
            'UnknownOperationException',
            `${prefix} speaks ${type}, the request is ${req.headers['content-type'] ?? 'untyped'}`,
          );
        }
        const input = body === '' ? {} : (JSON.parse(body) as unknown);
        const found = validateJsonRequest(service.model, operation, input);
        if (found.length > 0) {
          const code = service.validationError ?? 'ValidationException';
          refuse(req, service.signingName, operation, found, code, true);
        }
        const handler = service.operations[operation];
        if (!handler)
          throw new AwsError('UnknownOperationException', `Unknown operation ${operation}`);
        const output = await handler(input as Record<string, unknown>);
        const answer = JSON.stringify(output ?? {});
        const wrong = validateJsonResponse(service.model, operation, JSON.parse(answer));
        if (wrong.length > 0) {
          // A bug of the fake, not of the client: it fails the scenario all the same.
          violations.push({
            at: Date.now(),
            caller: 'the fake endpoint (its answer)',
            service: service.signingName,
            operation,
            violations: wrong,
          });
          throw new Error(
            `the fake's ${operation} answer breaks the model: ${validationMessage(wrong)}`,
          );
        }
        return { status: 200, type, body: answer, log };
      } catch (error) {
        const awsError = asAwsError(error);
        if (service?.awsQueryCompatible) {
          return {
            status: awsError.status,
            type,
            body: JSON.stringify({
              __type: errorShapeName(service.model, awsError.type),
              message: awsError.message,
            }),
            headers: {
              'x-amzn-query-error': `${awsError.type};${awsError.status >= 500 ? 'Receiver' : 'Sender'}`,
            },
            log: { ...log, errorType: awsError.type },
          };
        }
        return {
          status: awsError.status,
          type,
          body: jsonError(awsError),
          log: { ...log, errorType: awsError.type },
        };
      }
    }
    if (req.headers['smithy-protocol'] !== undefined) {
      // What a client sends once its SDK moves a service to Smithy RPC v2 (CBOR): say so plainly.
      const wanted = `${req.url ?? ''} (smithy-protocol: ${String(req.headers['smithy-protocol'])})`;
      return {
        status: 400,
        type: 'application/json',
        body: JSON.stringify({
          __type: 'UnknownOperationException',
          message: `the fake endpoint speaks AWS JSON and query, not Smithy RPC v2: ${wanted}`,
        }),
        log: { service: 'unknown', operation: wanted, errorType: 'UnknownOperationException' },
      };
    }
    const params = new URLSearchParams(body);
    const action = params.get('Action') ?? '';
    const query = services.query;
    const log = { service: query?.signingName ?? 'unknown', operation: action };
    try {
      if (!query || !action)
        throw new AwsError('UnknownOperationException', 'No X-Amz-Target and no Action');
      checkScope(scope, query.signingName, options.region);
      const found = validateQueryRequest(query.model, action, params).violations;
      if (found.length > 0) refuse(req, query.signingName, action, found, 'ValidationError', false);
      const handler = query.operations[action];
      if (!handler) throw new AwsError('InvalidAction', `Could not find operation ${action}`);
      const result = await handler(params);
      const xml =
        `<${action}Response xmlns="${query.xmlns}"><${action}Result>${result}</${action}Result>` +
        `<ResponseMetadata><RequestId>${crypto.randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;
      return { status: 200, type: 'text/xml', body: xml, log };
    } catch (error) {
      const awsError = asAwsError(error);
      const xml =
        `<ErrorResponse xmlns="${query?.xmlns ?? ''}"><Error><Type>Sender</Type><Code>${awsError.type}</Code>` +
        `<Message>${awsError.message}</Message></Error><RequestId>${crypto.randomUUID()}</RequestId></ErrorResponse>`;
      return {
        status: awsError.status,
        type: 'text/xml',
        body: xml,
        log: { ...log, errorType: awsError.type },
      };
    }
  }

  const server = http.createServer((req, res) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      route(req, Buffer.concat(chunks).toString('utf8'))
        .then((answer) => {
          let reply = answer;
          const caller = sigV4Scope(req.headers.authorization)?.accessKeyId ?? '';
          const lost = reply.status === 200 ? losing.get(reply.log.operation) : undefined;
          if (lost !== undefined) {
            losing.delete(reply.log.operation);
            calls.push({
              at: started,
              caller,
              ...reply.log,
              status: lost === 'reset' ? 0 : lost,
              ms: Date.now() - started,
            });
            if (lost === 'reset') {
              req.socket.destroy();
              return;
            }
            const error =
              lost === 500
                ? new AwsError('InternalServerError', 'An internal error occurred.', 500)
                : new AwsError('ServiceUnavailable', 'Service is unavailable.', 503);
            reply = {
              ...reply,
              status: error.status,
              body:
                reply.type === 'text/xml'
                  ? `<ErrorResponse><Error><Type>Receiver</Type><Code>${error.type}</Code><Message>${error.message}</Message></Error></ErrorResponse>`
                  : jsonError(error),
            };
          } else {
            calls.push({
              at: started,
              caller,
              ...reply.log,
              status: reply.status,
              ms: Date.now() - started,
            });
          }
          res.writeHead(reply.status, {
            'content-type': reply.type,
            'x-amzn-requestid': crypto.randomUUID(),
            'content-length': Buffer.byteLength(reply.body),
            ...reply.headers,
          });
          res.end(reply.body);
        })
        .catch((error: unknown) => {
          res.writeHead(500);
          res.end(String(error));
        });
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    calls,
    violations,
    loseNextResponse: (operation, how) => {
      losing.set(operation, how);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function checkScope(scope: ReturnType<typeof sigV4Scope>, service: string, region: string): void {
  if (!scope)
    throw new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
  if (scope.service !== service) {
    throw new AwsError(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${service}'.`,
      403,
    );
  }
  if (scope.region !== region) {
    throw new AwsError(
      'InvalidSignatureException',
      `Credential should be scoped to a valid region, not '${scope.region}'.`,
      403,
    );
  }
}

/** The model's shape for an error code (CloudWatch: code `LimitExceeded`, shape `LimitExceededFault`). */
function errorShapeName(model: ServiceModel, code: string): string {
  const shapes = model.shapes as Record<string, { error?: { code?: string } }>;
  return Object.keys(shapes).find((name) => shapes[name]?.error?.code === code) ?? code;
}

function asAwsError(error: unknown): AwsError {
  if (error instanceof AwsError) return error;
  if (error instanceof SyntaxError) return new AwsError('SerializationException', error.message);
  return new AwsError(
    'InternalFailure',
    error instanceof Error ? error.message : String(error),
    500,
  );
}
