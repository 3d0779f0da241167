/**
 * Shared by the CSM's, the web server's and the admin console's HTTP APIs (all fastify): the app
 * they start from (`createApiApp`) and its request validator.
 *
 * The request validator: TypeBox's compiled checker instead of fastify's default Ajv setup, because
 * that setup strips unknown properties (removeAdditional) and coerces types in bodies too ("5" passes
 * as 5). Here a body is checked exactly as sent. Path and query strings are converted first, but
 * only when the text is the value's exact form: "12" is the integer 12; "1.5", "0x1", "1e3", " 1" and
 * "01" stay strings and fail an integer schema. (TypeBox's own Value.Convert would turn "1.5" into 1.)
 *
 * Array query parameters accept both forms clients use: repeated keys (?kind=a&kind=b) and a
 * comma-separated list (?kind=a,b); empty items are dropped, so "?kind=" is no filter.
 *
 * A request without a body (fastify hands validators null for it) is checked as `{}` against an
 * object schema: the data-less POSTs (join, evacuate, drain…) work with or without `{}`, and a route
 * with required fields answers "must have required property" rather than "must be object".
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyServerOptions, type FastifySchemaCompiler, type FastifySchemaValidationError } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';

/** enough to say what is wrong without echoing a whole hostile payload back */
const MAX_REPORTED_ERRORS = 5;
const INTEGER_TEXT = /^-?(?:0|[1-9][0-9]{0,15})$/;
const NUMBER_TEXT = /^-?(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,16})?$/;

interface PartSchema {
  type?: unknown;
  items?: unknown;
  properties?: Record<string, PartSchema>;
}

export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const checker = Compile(schema);
  const objectBody = httpPart === 'body' && (schema as PartSchema).type === 'object';
  const convert =
    httpPart === 'body' ? (value: unknown) => (value === null && objectBody ? {} : value) : (value: unknown) => convertStrings(schema as PartSchema, value);
  return (input: unknown) => {
    const value = convert(input);
    if (checker.Check(value)) return { value };
    return { error: readable(checker.Errors(value) as unknown as FastifySchemaValidationError[]) };
  };
};

/**
 * TypeBox reports an unknown property twice: "schema is false" at the property, then
 * "must not have additional properties" at the object. Keep the second and name the properties in it.
 */
function readable(errors: FastifySchemaValidationError[]): FastifySchemaValidationError[] {
  const kept = errors.filter((e) => !(e.keyword === 'boolean' && e.schemaPath.endsWith('/additionalProperties')));
  return kept.slice(0, MAX_REPORTED_ERRORS).map((e) => {
    const extra = (e.params as { additionalProperties?: unknown }).additionalProperties;
    if (e.keyword !== 'additionalProperties' || !Array.isArray(extra)) return e;
    const names = extra.slice(0, 5).map((name) => JSON.stringify(String(name).slice(0, 40)));
    return { ...e, message: `${e.message ?? 'must not have additional properties'}: ${names.join(', ')}` };
  });
}

/** params, querystring and headers arrive as flat objects of strings (arrays for repeated query keys) */
function convertStrings(schema: PartSchema, input: unknown): unknown {
  const properties = schema.properties;
  if (!properties || typeof input !== 'object' || input === null) return input;
  // A null-prototype copy: a "__proto__" query key stays an ordinary (and refused) property.
  const out: Record<string, unknown> = Object.create(null);
  for (const [key, raw] of Object.entries(input)) {
    const property = Object.hasOwn(properties, key) ? properties[key] : undefined;
    out[key] = property ? convertValue(property, raw) : raw;
  }
  return out;
}

function convertValue(schema: PartSchema, raw: unknown): unknown {
  if (schema.type !== 'array') return convertScalar(schema, raw);
  const items = (schema.items ?? {}) as PartSchema;
  const list = Array.isArray(raw) ? raw : [raw];
  return list.flatMap((item) => (typeof item === 'string' ? item.split(',').filter((s) => s !== '') : [item])).map((item) => convertScalar(items, item));
}

function convertScalar(schema: PartSchema, raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  switch (schema.type) {
    case 'integer':
      return INTEGER_TEXT.test(raw) ? Number(raw) : raw;
    case 'number':
      return NUMBER_TEXT.test(raw) ? Number(raw) : raw;
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    default:
      return raw;
  }
}

/**
 * A fastify app as every OnAir API starts: the process's pino logger, a body limit, trailing slashes
 * ignored, this validator; 503 while closing is left to each API's own error hook (it answers in that
 * API's error shape). `extra`: more fastify options (framework and client error handlers).
 */
export function createApiApp(logger: FastifyBaseLogger, bodyLimit: number, extra: Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler'> = {}) {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit,
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 100 },
    ...extra,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  return app;
}
