// Checks a request against its operation's input shape in the official service model, the way
// the real service's front end does before any handler runs: types, required members, lengths,
// ranges, enums, patterns, list and map sizes, nested structures, and members the model lacks.
// AWS JSON 1.1 bodies are checked as they are; AWS query parameters are first read into the same
// tree (`Targets.member.1.Id` → `{ Targets: [{ Id }] }`), so both protocols share one checker.
import type { ModelShape, ServiceModel } from './service-models.js';

export interface Violation {
  /** Where, in the service's own notation: `imageIds.1.member.imageTag`. */
  path: string;
  /** The offending value, rendered as AWS renders it (`'abc'`, `null`, `'[a, b]'`). */
  value: string;
  /** What the model demands, in the service's words where there are some. */
  constraint: string;
  /**
   * `type`: not even the model's type (JSON: AWS answers SerializationException); `unknown`: a
   * member the model does not have (AWS may ignore it; the fake refuses: client and model
   * disagree); `constraint`: a constraint of the model (AWS answers its validation error).
   */
  kind: 'type' | 'unknown' | 'constraint';
}

/** `Value 'x' at 'path' failed to satisfy constraint: …`, as AWS words each violation. */
export function describeViolation(violation: Violation): string {
  return `Value ${violation.value} at '${violation.path}' failed to satisfy constraint: ${violation.constraint}`;
}

/** The message of AWS's validation error for a list of violations. */
export function validationMessage(violations: Violation[]): string {
  const n = violations.length;
  return `${n} validation error${n === 1 ? '' : 's'} detected: ${violations.map(describeViolation).join('; ')}`;
}

/** Checks the input of a JSON-protocol operation. An operation the model lacks is a violation. */
export function validateJsonRequest(
  model: ServiceModel,
  operation: string,
  input: unknown,
): Violation[] {
  const op = model.operations[operation];
  if (!op) return [unknownOperation(model, operation)];
  const violations: Violation[] = [];
  if (op.input) checkValue(model, op.input.shape, input, '', violations);
  else if (isObject(input) && Object.keys(input).length > 0) {
    violations.push({
      kind: 'unknown',
      path: '',
      value: render(input),
      constraint: `${operation} takes no input`,
    });
  }
  return violations;
}

/**
 * Checks what the fake answers to a JSON-protocol operation against the output shape, so that
 * the fake cannot teach the client a shape the real service never sends: members, types and
 * enums only. Real answers break the input-side constraints (SSM answers
 * `ExecutionStartDateTime: ""` while Pending, `CloudWatchLogGroupName: ""`), so lengths,
 * patterns, ranges and required members are not checked here.
 */
export function validateJsonResponse(
  model: ServiceModel,
  operation: string,
  output: unknown,
): Violation[] {
  const shape = (model.operations[operation] as { output?: { shape: string } } | undefined)?.output
    ?.shape;
  const violations: Violation[] = [];
  if (shape) checkValue(model, shape, output, '', violations, true);
  return violations;
}

/**
 * Reads and checks the parameters of a query-protocol operation (`Action`, `Version` and the
 * input members, serialised as botocore's query serializer does). Returns the input as a tree.
 */
export function validateQueryRequest(
  model: ServiceModel,
  operation: string,
  params: URLSearchParams,
): { input: Record<string, unknown>; violations: Violation[] } {
  const op = model.operations[operation];
  if (!op) return { input: {}, violations: [unknownOperation(model, operation)] };
  const reader = new QueryReader(model, params);
  const version = params.get('Version');
  if (version !== model.metadata.apiVersion) {
    reader.violations.push({
      kind: 'constraint',
      path: 'Version',
      value: render(version),
      constraint: `Version must be ${model.metadata.apiVersion}`,
    });
  }
  const input = op.input ? reader.read(op.input.shape, '', '') : undefined;
  const tree = isObject(input) ? input : {};
  for (const key of new Set(params.keys())) {
    if (!reader.consumed.has(key) && key !== 'Action' && key !== 'Version') {
      reader.violations.push({
        kind: 'unknown',
        path: key,
        value: render(params.get(key)),
        constraint: `${operation} has no parameter ${key} in the ${model.metadata.serviceId} model`,
      });
    }
  }
  if (op.input) checkValue(model, op.input.shape, tree, '', reader.violations);
  return { input: tree, violations: reader.violations };
}

function unknownOperation(model: ServiceModel, operation: string): Violation {
  return {
    kind: 'unknown',
    path: 'operation',
    value: render(operation),
    constraint: `the ${model.metadata.serviceId} model (${model.metadata.apiVersion}, botocore ${model.botocore}) has no such operation`,
  };
}

/** botocore's query serializer in reverse, guided by the model (lists `.member.N`, maps `.entry.N`). */
class QueryReader {
  readonly consumed = new Set<string>();
  readonly violations: Violation[] = [];
  private readonly keys: string[];

  constructor(
    private readonly model: ServiceModel,
    private readonly params: URLSearchParams,
  ) {
    this.keys = [...new Set(params.keys())];
  }

  read(shapeName: string, key: string, path: string): unknown {
    const shape = shapeOf(this.model, shapeName);
    switch (shape.type) {
      case 'structure': {
        const out: Record<string, unknown> = {};
        for (const [name, member] of Object.entries(shape.members ?? {})) {
          const wire = member.locationName ?? name;
          const value = this.read(
            member.shape,
            key ? `${key}.${wire}` : wire,
            joinPath(path, name),
          );
          if (value !== undefined) out[name] = value;
        }
        return Object.keys(out).length > 0 ? out : undefined;
      }
      case 'list': {
        const member = shape.member ?? { shape: '' };
        if (this.params.get(key) === '' && !shape.flattened) {
          this.consumed.add(key); // botocore sends an empty list as `Name=`
          return [];
        }
        const prefix = shape.flattened ? key : `${key}.${member.locationName ?? 'member'}`;
        return this.indexed(prefix, path, (index, itemKey) =>
          this.read(member.shape, itemKey, `${path}.${index}.member`),
        );
      }
      case 'map': {
        const prefix = shape.flattened ? key : `${key}.entry`;
        const entries = this.indexed(prefix, path, (index, entryKey) => [
          this.read(shape.key?.shape ?? '', `${entryKey}.key`, `${path}.${index}.key`),
          this.read(shape.value?.shape ?? '', `${entryKey}.value`, `${path}.${index}.value`),
        ]);
        if (!entries) return undefined;
        return Object.fromEntries(
          entries.map((entry) => entry as [unknown, unknown]).map(([k, v]) => [String(k), v]),
        );
      }
      default:
        return this.scalar(shape, key, path);
    }
  }

  /** Items `<prefix>.1`, `<prefix>.2`, … in order; a gap or a non-number index is a violation. */
  private indexed<T>(
    prefix: string,
    path: string,
    readItem: (index: number, itemKey: string) => T,
  ): T[] | undefined {
    const indexes = new Set<string>();
    for (const key of this.keys) {
      if (key.startsWith(`${prefix}.`)) indexes.add(key.slice(prefix.length + 1).split('.')[0]!);
    }
    if (indexes.size === 0) return undefined;
    const numbers = [...indexes].map(Number).sort((a, b) => a - b);
    if (!numbers.every((n, i) => n === i + 1)) {
      this.violations.push({
        kind: 'type',
        path,
        value: render([...indexes].join(',')),
        constraint: `Member indexes must be 1..${indexes.size} without gaps`,
      });
    }
    return numbers
      .filter((n) => Number.isInteger(n) && n > 0)
      .map((n) => readItem(n, `${prefix}.${n}`));
  }

  private scalar(shape: ModelShape, key: string, path: string): unknown {
    const raw = this.params.get(key);
    if (raw === null) return undefined;
    this.consumed.add(key);
    const wrong = (): undefined => {
      this.violations.push({
        kind: 'type',
        path,
        value: render(raw),
        constraint: `Member must be of type ${shape.type}`,
      });
      return undefined;
    };
    switch (shape.type) {
      case 'integer':
      case 'long':
        return /^-?\d+$/.test(raw) ? Number(raw) : wrong();
      case 'float':
      case 'double':
        return raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : wrong();
      case 'boolean':
        return raw === 'true' ? true : raw === 'false' ? false : wrong();
      case 'timestamp': {
        const ms = Date.parse(raw);
        return /^\d{4}-\d\d-\d\dT/.test(raw) && Number.isFinite(ms) ? ms / 1000 : wrong();
      }
      default:
        return raw;
    }
  }
}

function shapeOf(model: ServiceModel, name: string): ModelShape {
  const shape = model.shapes[name];
  if (!shape) throw new Error(`the ${model.metadata.serviceId} model has no shape ${name}`);
  return shape;
}

function checkValue(
  model: ServiceModel,
  shapeName: string,
  value: unknown,
  path: string,
  out: Violation[],
  response = false,
): void {
  const shape = shapeOf(model, shapeName);
  const wrongType = (): void => {
    out.push({
      kind: 'type',
      path,
      value: render(value),
      constraint: `Member must be of type ${shape.type}`,
    });
  };
  switch (shape.type) {
    case 'structure': {
      if (shape.document) return;
      if (!isObject(value)) return wrongType();
      const members = shape.members ?? {};
      for (const name of Object.keys(value)) {
        if (!(name in members)) {
          out.push({
            kind: 'unknown',
            path: joinPath(path, name),
            value: render(value[name]),
            constraint: `${shapeName} has no member ${name} in the ${model.metadata.serviceId} model`,
          });
        }
      }
      for (const name of response ? [] : (shape.required ?? [])) {
        if (value[name] === undefined || value[name] === null) {
          out.push({
            kind: 'constraint',
            path: joinPath(path, name),
            value: 'null',
            constraint: 'Member must not be null',
          });
        }
      }
      let set = 0;
      for (const [name, member] of Object.entries(members)) {
        const memberValue = value[name];
        if (memberValue === undefined || memberValue === null) continue;
        set += 1;
        checkValue(model, member.shape, memberValue, joinPath(path, name), out, response);
      }
      if (shape.union && set !== 1) {
        out.push({
          kind: 'constraint',
          path,
          value: render(value),
          constraint: `exactly one member of the union ${shapeName} must be set`,
        });
      }
      return;
    }
    case 'list': {
      if (!Array.isArray(value)) return wrongType();
      if (!response) checkLength(shape, value.length, value, path, out);
      value.forEach((item: unknown, i) => {
        const itemPath = `${path}.${i + 1}.member`;
        if (item === null || item === undefined) {
          out.push({
            kind: 'constraint',
            path: itemPath,
            value: 'null',
            constraint: 'Member must not be null',
          });
        } else checkValue(model, shape.member?.shape ?? '', item, itemPath, out, response);
      });
      return;
    }
    case 'map': {
      if (!isObject(value)) return wrongType();
      const entries = Object.entries(value);
      if (!response) checkLength(shape, entries.length, value, path, out);
      for (const [key, item] of entries) {
        checkValue(model, shape.key?.shape ?? '', key, `${path}.${key}.key`, out, response);
        if (item === null || item === undefined) {
          out.push({
            kind: 'constraint',
            path: `${path}.${key}`,
            value: 'null',
            constraint: 'Member must not be null',
          });
        } else checkValue(model, shape.value?.shape ?? '', item, `${path}.${key}`, out, response);
      }
      return;
    }
    case 'string': {
      if (typeof value !== 'string') return wrongType();
      if (shape.enum && !shape.enum.includes(value)) {
        out.push({
          kind: 'constraint',
          path,
          value: render(value),
          constraint: `Member must satisfy enum value set: [${shape.enum.join(', ')}]`,
        });
      }
      if (response) return;
      checkLength(shape, value.length, value, path, out);
      if (shape.pattern !== undefined) {
        const pattern = compilePattern(shape.pattern);
        if (!pattern) throw new Error(`cannot check pattern ${shape.pattern} of ${shapeName}`);
        if (!pattern.test(value)) {
          out.push({
            kind: 'constraint',
            path,
            value: render(value),
            constraint: `Member must satisfy regular expression pattern: ${shape.pattern}`,
          });
        }
      }
      return;
    }
    case 'integer':
    case 'long': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return wrongType();
      if (shape.type === 'integer' && (value < -(2 ** 31) || value >= 2 ** 31)) return wrongType();
      if (!response) checkRange(shape, value, path, out);
      return;
    }
    case 'float':
    case 'double': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return wrongType();
      if (!response) checkRange(shape, value, path, out);
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean') wrongType();
      return;
    case 'timestamp':
      // JSON 1.1 sends epoch seconds; the query reader has turned ISO 8601 into the same.
      if (typeof value !== 'number' || !Number.isFinite(value)) wrongType();
      return;
    case 'blob': {
      if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return wrongType();
      if (!response) checkLength(shape, Buffer.from(value, 'base64').length, value, path, out);
      return;
    }
    default:
      throw new Error(`the validator does not know shape type ${shape.type} (${shapeName})`);
  }
}

function checkLength(
  shape: ModelShape,
  length: number,
  value: unknown,
  path: string,
  out: Violation[],
): void {
  if (shape.min !== undefined && length < shape.min) {
    out.push({
      kind: 'constraint',
      path,
      value: render(value),
      constraint: `Member must have length greater than or equal to ${shape.min}`,
    });
  }
  if (shape.max !== undefined && length > shape.max) {
    out.push({
      kind: 'constraint',
      path,
      value: render(value),
      constraint: `Member must have length less than or equal to ${shape.max}`,
    });
  }
}

function checkRange(shape: ModelShape, value: number, path: string, out: Violation[]): void {
  if (shape.min !== undefined && value < shape.min) {
    out.push({
      kind: 'constraint',
      path,
      value: render(value),
      constraint: `Member must have value greater than or equal to ${shape.min}`,
    });
  }
  if (shape.max !== undefined && value > shape.max) {
    out.push({
      kind: 'constraint',
      path,
      value: render(value),
      constraint: `Member must have value less than or equal to ${shape.max}`,
    });
  }
}

const patterns = new Map<string, RegExp | undefined>();

/**
 * A model pattern as a JavaScript RegExp with the service's semantics: the whole value must
 * match (AWS rejects `MyRepo` for ECR's `[a-z0-9]+…`, which a search would accept). The models'
 * patterns are Java regular expressions: a leading `(?i)` becomes the `i` flag; `\p{L}` needs
 * the `u` flag, and escapes like `\:` are only legal without it, so both are tried.
 */
export function compilePattern(pattern: string): RegExp | undefined {
  if (patterns.has(pattern)) return patterns.get(pattern);
  let source = pattern;
  let flags = '';
  if (source.startsWith('(?i)')) {
    source = source.slice(4);
    flags = 'i';
  }
  let compiled: RegExp | undefined;
  for (const candidate of [`${flags}u`, flags]) {
    // Without `u`, `\p{L}` would silently mean the letters "p{L}".
    if (!candidate.includes('u') && /\\[pP]\{/.test(source)) continue;
    try {
      compiled = new RegExp(`^(?:${source})$`, candidate);
      break;
    } catch {
      // try the next flags
    }
  }
  patterns.set(pattern, compiled);
  return compiled;
}

/** Every pattern of the model that JavaScript cannot check (should be none). */
export function uncheckablePatterns(model: ServiceModel): string[] {
  return Object.values(model.shapes)
    .flatMap((shape) => (shape.pattern === undefined ? [] : [shape.pattern]))
    .filter((pattern) => !compilePattern(pattern));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function joinPath(path: string, member: string): string {
  // AWS names members lowerCamelCase in its messages: `maxResults`, `targets.1.member.id`.
  const name = member.charAt(0).toLowerCase() + member.slice(1);
  return path ? `${path}.${name}` : name;
}

function render(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  let text: string;
  if (typeof value === 'string') text = value;
  else if (Array.isArray(value))
    text = `[${value.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))).join(', ')}]`;
  else text = JSON.stringify(value);
  // A whole deploy script in a message helps nobody.
  return `'${text.length > 200 ? `${text.slice(0, 200)}…` : text}'`;
}
