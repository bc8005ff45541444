// The API contract, openapi.yaml (OpenAPI 3.1): loaded once, served as JSON, and its schemas are the
// ones requests are validated with, so the documented contract and the checks are the same object.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormatsPlugin from 'ajv-formats'
import { parse } from 'yaml'
import { CompactorError, type ErrorCode } from './errors.ts'

export const OPENAPI_FILE = join(import.meta.dirname, '..', 'openapi.yaml')

export type JsonSchema = Record<string, unknown>

export interface OpenApiDocument {
  openapi: string
  paths: Record<string, Record<string, unknown>>
  components: { schemas: Record<string, JsonSchema> }
  [key: string]: unknown
}

/** Reads and parses openapi.yaml. */
export function loadOpenApi (file = OPENAPI_FILE): OpenApiDocument {
  return parse(readFileSync(file, 'utf8')) as OpenApiDocument
}

/** A copy of a schema with every local `$ref` (`#/components/...`) replaced by what it points to. */
export function dereference (doc: OpenApiDocument, value: unknown, seen: readonly string[] = []): unknown {
  if (Array.isArray(value)) return value.map(v => dereference(doc, v, seen))
  if (value === null || typeof value !== 'object') return value
  const ref = (value as { $ref?: unknown }).$ref
  if (typeof ref === 'string') {
    if (!ref.startsWith('#/') || seen.includes(ref)) throw new Error(`unsupported $ref ${ref}`)
    let target: unknown = doc
    for (const part of ref.slice(2).split('/')) target = (target as Record<string, unknown>)[part.replaceAll('~1', '/').replaceAll('~0', '~')]
    if (target === undefined) throw new Error(`dangling $ref ${ref}`)
    return dereference(doc, target, [...seen, ref])
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, dereference(doc, v, seen)]))
}

/** A JSON Schema 2020-12 validator (the dialect of OpenAPI 3.1), with formats (uuid, uri...). */
export function schemaValidator (): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false, strict: true })
  // OpenAPI's own annotation keyword
  ajv.addKeyword('example')
  const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => void
  addFormats(ajv)
  return ajv
}

/** A component schema of the document, references resolved. */
export function componentSchema (doc: OpenApiDocument, name: string): JsonSchema {
  const schema = doc.components.schemas[name]
  if (!schema) throw new Error(`openapi.yaml has no schema ${name}`)
  return dereference(doc, schema) as JsonSchema
}

// Fields whose violations have their own catalogued code.
const FIELD_CODES: Readonly<Record<string, ErrorCode>> = {
  frequency_ms: 'CMP_ERR_BAD_FREQUENCY',
  file: 'CMP_ERR_NO_INPUTS',
  segments: 'CMP_ERR_NO_INPUTS',
}

/** The catalogued error for a schema violation, naming the field (`segments[2].url`). */
export function schemaError (errors: readonly ErrorObject[] | null | undefined): CompactorError {
  const error = errors?.[0]
  if (!error) return new CompactorError('CMP_ERR_BAD_REQUEST')
  const path = error.instancePath.split('/').slice(1).map(p => p.replaceAll('~1', '/').replaceAll('~0', '~'))
  const params = error.params as { missingProperty?: string, additionalProperty?: string, property?: string, missing?: string }
  const extra = params.missingProperty ?? params.additionalProperty ?? (error.keyword === 'dependentRequired' ? params.missing : undefined)
  if (extra !== undefined) path.push(extra)
  const field = path.reduce((out, p) => (/^\d+$/.test(p) ? `${out}[${p}]` : out === '' ? p : `${out}.${p}`), '')
  const reason = error.keyword === 'additionalProperties' ? 'is not a known field' : error.keyword === 'required' || error.keyword === 'dependentRequired' ? 'is required' : error.message ?? 'is invalid'
  const code = FIELD_CODES[field] ?? 'CMP_ERR_BAD_REQUEST'
  return new CompactorError(code, `${field || 'body'} ${reason}`, { field: field || 'body', reason })
}

/** Validates a value against a compiled schema; throws the catalogued error naming the field. */
export function check<T> (validate: ValidateFunction, value: unknown): T {
  if (!validate(value)) throw schemaError(validate.errors)
  return value as T
}
