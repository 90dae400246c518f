// The fake AWS endpoint (AWS_ENDPOINT_URL): one node:http server that routes AWS JSON 1.1 calls
// by `X-Amz-Target` (ECR, SSM) and AWS query calls by `Action` (ELBv2), and logs every call.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsError, jsonError, sigV4Scope, type JsonOperation } from './protocol.js';

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

export interface FakeAwsServices {
  /** X-Amz-Target prefix (e.g. `AmazonSSM`) → SigV4 service name and its operations. */
  json: Record<string, { signingName: string; operations: Record<string, JsonOperation> }>;
  /** ELBv2 query-protocol operations, if any. */
  query?: { signingName: string; xmlns: string; operations: Record<string, QueryOperation> };
}

export interface FakeAws {
  url: string;
  /** Every call so far, oldest first. */
  readonly calls: LoggedCall[];
  close(): Promise<void>;
}

export async function startFakeAws(
  services: FakeAwsServices,
  options: { host: string; port?: number; region: string },
): Promise<FakeAws> {
  const calls: LoggedCall[] = [];

  async function route(
    req: http.IncomingMessage,
    body: string,
  ): Promise<{
    status: number;
    type: string;
    body: string;
    log: Omit<LoggedCall, 'at' | 'ms' | 'status' | 'caller'>;
  }> {
    const target = req.headers['x-amz-target'];
    const scope = sigV4Scope(req.headers.authorization);
    if (typeof target === 'string') {
      const [prefix = '', operation = ''] = target.split('.');
      const service = services.json[prefix];
      const log = { service: service?.signingName ?? prefix, operation };
      try {
        if (!service) throw new AwsError('UnknownOperationException', `Unknown target ${target}`);
        checkScope(scope, service.signingName, options.region);
        const handler = service.operations[operation];
        if (!handler)
          throw new AwsError('UnknownOperationException', `Unknown operation ${operation}`);
        const input = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
        const output = await handler(input);
        return {
          status: 200,
          type: 'application/x-amz-json-1.1',
          body: JSON.stringify(output ?? {}),
          log,
        };
      } catch (error) {
        const awsError = asAwsError(error);
        return {
          status: awsError.status,
          type: 'application/x-amz-json-1.1',
          body: jsonError(awsError),
          log: { ...log, errorType: awsError.type },
        };
      }
    }
    const params = new URLSearchParams(body);
    const action = params.get('Action') ?? '';
    const query = services.query;
    const log = { service: query?.signingName ?? 'unknown', operation: action };
    try {
      if (!query || !action)
        throw new AwsError('UnknownOperationException', 'No X-Amz-Target and no Action');
      checkScope(scope, query.signingName, options.region);
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
        .then((reply) => {
          const caller = sigV4Scope(req.headers.authorization)?.accessKeyId ?? '';
          calls.push({
            at: started,
            caller,
            ...reply.log,
            status: reply.status,
            ms: Date.now() - started,
          });
          res.writeHead(reply.status, {
            'content-type': reply.type,
            'x-amzn-requestid': crypto.randomUUID(),
            'content-length': Buffer.byteLength(reply.body),
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

function asAwsError(error: unknown): AwsError {
  if (error instanceof AwsError) return error;
  if (error instanceof SyntaxError) return new AwsError('SerializationException', error.message);
  return new AwsError(
    'InternalFailure',
    error instanceof Error ? error.message : String(error),
    500,
  );
}
