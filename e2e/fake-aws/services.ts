// What identifies each service the fake speaks: its JSON target prefix or query namespace, its
// SigV4 name, its official model and the error code of its validation failures.
import type { JsonOperation } from './protocol.js';
import type { FakeAwsServices, QueryOperation } from './server.js';
import { serviceModel } from './service-models.js';

export function fakeAwsServices(operations: {
  ecr?: Record<string, JsonOperation>;
  ssm?: Record<string, JsonOperation>;
  elbv2?: Record<string, QueryOperation>;
  cloudwatch?: Record<string, JsonOperation>;
}): FakeAwsServices {
  const services: FakeAwsServices = { json: {} };
  if (operations.ecr) {
    services.json.AmazonEC2ContainerRegistry_V20150921 = {
      signingName: 'ecr',
      model: serviceModel('ecr'),
      // ECR answers a model violation with InvalidParameterException, not ValidationException.
      validationError: 'InvalidParameterException',
      operations: operations.ecr,
    };
  }
  if (operations.ssm) {
    services.json.AmazonSSM = {
      signingName: 'ssm',
      model: serviceModel('ssm'),
      operations: operations.ssm,
    };
  }
  if (operations.cloudwatch) {
    // botocore lists CloudWatch's protocols as smithy-rpc-v2-cbor, json, query; the JS SDK
    // (@aws-sdk/client-cloudwatch 3.1164) speaks AWS JSON 1.0, query-compatible.
    services.json.GraniteServiceVersion20100801 = {
      signingName: 'monitoring',
      model: serviceModel('cloudwatch'),
      jsonVersion: '1.0',
      awsQueryCompatible: true,
      // Its query-protocol code for a constraint violation, kept by the JSON protocol.
      validationError: 'ValidationError',
      operations: operations.cloudwatch,
    };
  }
  if (operations.elbv2) {
    services.query = {
      signingName: 'elasticloadbalancing',
      xmlns: 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/',
      model: serviceModel('elbv2'),
      operations: operations.elbv2,
    };
  }
  return services;
}
