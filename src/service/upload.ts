// A multipart upload -> a compaction job: every `file` part streamed to a temporary file (never held
// in memory), under the file, count and request size limits; the form fields validated against
// openapi.yaml's UploadForm.
import type { Multipart } from '@fastify/multipart'
import type { ValidateFunction } from 'ajv'
import { checkDateint, type CompactionInput } from '../compaction/index.ts'
import type { UploadLimits } from '../config.ts'
import { CompactorError } from '../errors.ts'
import { check, type JsonSchema } from '../openapi.ts'
import { checkOneFile } from './bundle.ts'
import type { CompactionJob, Delivery, JobInput } from './job.ts'
import type { RequestTemp } from '../storage/temp.ts'

export interface UploadForm {
  file: string[]
  frequency_ms?: number
  records_per_file?: number
  target_file_bytes?: number
  organization_id?: string
  dateint?: number
}

export interface UploadContext {
  readonly temp: RequestTemp
  readonly limits: UploadLimits
  /** Validates the form (file names + fields) against openapi.yaml's UploadForm. */
  readonly validateForm: ValidateFunction
  /** The UploadForm schema, to know which fields are integers. */
  readonly formSchema: JsonSchema
  /** RECORDS_PER_FILE: the row cap when the form gives none (undefined: none). */
  readonly defaultRecordsPerFile: number | undefined
  /** TARGET_FILE_BYTES: the target when the form gives none. */
  readonly defaultTargetFileBytes: number
  readonly defaultFrequencyMs: number
  readonly delivery: Delivery
}

/** Reads a multipart request into a job; throws a catalogued error naming the part or field. */
export async function readUpload (parts: AsyncIterable<Multipart>, ctx: UploadContext): Promise<CompactionJob> {
  const { limits, temp } = ctx
  const inputs: JobInput[] = []
  const fields = new Map<string, string>()
  let requestBytes = 0
  try {
    for await (const part of parts) {
      if (part.type === 'field') {
        if (part.valueTruncated || part.fieldnameTruncated) throw fieldError(part.fieldname, 'is too long')
        if (fields.has(part.fieldname)) throw fieldError(part.fieldname, 'is given more than once')
        fields.set(part.fieldname, String(part.value))
        continue
      }
      if (part.fieldname !== 'file') throw fieldError(part.fieldname, 'is not a known field (files go in `file` parts)')
      if (inputs.length === limits.maxFiles) {
        throw new CompactorError('CMP_ERR_TOO_MANY_FILES', `more than ${limits.maxFiles}`, { limit: limits.maxFiles })
      }
      const label = partLabel(part.filename, inputs.length, inputs)
      const left = limits.maxRequestBytes - requestBytes
      const tooLarge = limits.maxFileBytes <= left
        ? () => new CompactorError('CMP_ERR_FILE_TOO_LARGE', `${label} exceeds ${limits.maxFileBytes} bytes`, { file: label, limit: limits.maxFileBytes })
        : () => new CompactorError('CMP_ERR_REQUEST_TOO_LARGE', `the files exceed ${limits.maxRequestBytes} bytes together`, { file: label, limit: limits.maxRequestBytes })
      const { path, bytes } = await temp.write(part.file, Math.min(limits.maxFileBytes, left), tooLarge)
      requestBytes += bytes
      inputs.push({ path, label, bytes })
    }
  } catch (err) {
    if (err instanceof CompactorError) throw err
    const code = (err as { code?: string }).code
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw new CompactorError('CMP_ERR_FILE_TOO_LARGE', undefined, { limit: limits.maxFileBytes })
    if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT') throw new CompactorError('CMP_ERR_TOO_MANY_FILES', undefined, { limit: limits.maxFiles })
    if (code === 'FST_FIELDS_LIMIT') throw new CompactorError('CMP_ERR_BAD_REQUEST', 'too many form fields')
    throw new CompactorError('CMP_ERR_BAD_REQUEST', `malformed multipart body (${(err as Error).message})`, undefined, { cause: err })
  }

  const form = check<UploadForm>(ctx.validateForm, formObject(inputs, fields, ctx.formSchema))
  if (form.dateint !== undefined) checkDateint(form.dateint, 'CMP_ERR_BAD_REQUEST')
  checkOneFile(form, ctx.delivery)
  return {
    inputs,
    entries: inputs.map(() => null),
    frequencyMs: form.frequency_ms ?? ctx.defaultFrequencyMs,
    targetFileBytes: form.target_file_bytes ?? ctx.defaultTargetFileBytes,
    recordsPerFile: form.records_per_file ?? ctx.defaultRecordsPerFile,
    organizationId: form.organization_id,
    dateint: form.dateint,
    instanceNum: undefined,
    delivery: ctx.delivery,
  }
}

/** The form as the schema sees it: file names, and fields with integers parsed where the schema wants integers. */
function formObject (inputs: readonly CompactionInput[], fields: ReadonlyMap<string, string>, schema: JsonSchema): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, { type?: string }>
  const form: Record<string, unknown> = { file: inputs.map(i => i.label) }
  for (const [name, value] of fields) {
    form[name] = properties[name]?.type === 'integer' && /^-?\d{1,16}$/.test(value.trim()) ? Number(value.trim()) : value
  }
  return form
}

/** How errors and the report name an uploaded part: its file name, made unique with its position. */
function partLabel (filename: string | undefined, index: number, earlier: readonly CompactionInput[]): string {
  const name = (filename ?? '').replace(/[\u0000-\u001f]/g, '').slice(0, 200)
  if (name === '') return `file part ${index + 1}`
  return earlier.some(i => i.label === name) ? `${name} (file part ${index + 1})` : name
}

function fieldError (field: string, reason: string): CompactorError {
  return new CompactorError('CMP_ERR_BAD_REQUEST', `${field.slice(0, 100)} ${reason}`, { field: field.slice(0, 100), reason })
}
