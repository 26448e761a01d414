import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { z } from 'zod'
import { AppError, type ErrorDetail } from '../lib/errors.ts'

/** Wire shape of every error response. `errors` lists offending paths for validation failures. */
export type ErrorBody = { code: string; message: string; errors?: readonly ErrorDetail[] }

export function validationFailed(details: readonly ErrorDetail[]): AppError {
  return new AppError('validation-failed', 422, 'the request is not valid', { details })
}

function issuePath(prefix: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, part) => (typeof part === 'number' ? `${text}[${part}]` : `${text}.${String(part)}`),
    prefix,
  )
}

/**
 * One detail per offending path. zod reports unknown fields once, at the object holding them: each gets
 * its own path here, so a client sees which field to drop.
 */
export function issueDetails(prefix: string, issue: z.core.$ZodIssue): ErrorDetail[] {
  if (issue.code === 'unrecognized_keys')
    return issue.keys.map((key) => ({
      path: issuePath(prefix, [...issue.path, key]),
      message: 'unknown field',
    }))
  return [{ path: issuePath(prefix, issue.path), message: issue.message }]
}

/** Parses untrusted input with a zod schema; failures become 422 validation-failed with JSON paths. */
export function parseInput<T extends z.ZodType>(
  schema: T,
  value: unknown,
  prefix: 'body' | 'query' | 'params',
): z.infer<T> {
  const result = schema.safeParse(value)
  if (!result.success)
    throw validationFailed(result.error.issues.flatMap((issue) => issueDetails(prefix, issue)))
  const unstorable = unstorableTextPaths(result.data).map((path) => ({
    path: issuePath(prefix, path),
    message: 'must be Unicode text without U+0000',
  }))
  if (unstorable.length > 0) throw validationFailed(unstorable)
  return result.data
}

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/**
 * Paths of strings (values or object keys) PostgreSQL cannot store: U+0000, which text and jsonb refuse,
 * and unpaired surrogates, which are not Unicode (jsonb refuses them, text turns them into U+FFFD). A
 * schema lets them through, so without this the write fails and the request gets a 500. Iterative, and
 * paths are built only for what is found: a schema may accept arbitrarily deep JSON (a passkey's
 * extension results).
 */
function unstorableTextPaths(value: unknown): PropertyKey[][] {
  type Node = { value: unknown; key: PropertyKey; parent: Node | undefined }
  const unstorable = (text: string) => text.includes('\u0000') || loneSurrogate.test(text)
  const pathOf = (node: Node): PropertyKey[] => {
    const path: PropertyKey[] = []
    for (let at: Node | undefined = node; at?.parent !== undefined; at = at.parent) path.push(at.key)
    return path.reverse()
  }
  const found: PropertyKey[][] = []
  const pending: Node[] = [{ value, key: '', parent: undefined }]
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (typeof node.value === 'string' && unstorable(node.value)) found.push(pathOf(node))
    if (node.value === null || typeof node.value !== 'object') continue
    const isArray = Array.isArray(node.value)
    // Pushed last to first, so the paths come out in the input's order.
    for (const [key, child] of Object.entries(node.value).reverse()) {
      const childNode: Node = { value: child, key: isArray ? Number(key) : key, parent: node }
      if (!isArray && unstorable(key)) found.push(pathOf(childNode))
      pending.push(childNode)
    }
  }
  return found
}

function fromFastifyError(error: FastifyError): AppError | undefined {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new AppError('request-body-too-large', 413, 'the request body exceeds the limit')
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new AppError('unsupported-media-type', 415, 'send application/json')
  }
  if (
    error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    error instanceof SyntaxError
  ) {
    return new AppError('invalid-json', 400, 'the request body is not valid JSON')
  }
  if (error.validation !== undefined) {
    return validationFailed(
      error.validation.map((item) => ({
        path: item.instancePath || '(root)',
        message: item.message ?? 'invalid',
      })),
    )
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new AppError('bad-request', error.statusCode, error.message)
  }
  return undefined
}

/** Maps every thrown error to a typed response; anything unknown is a 500 and is logged with its cause. */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const known = error instanceof AppError ? error : fromFastifyError(error as FastifyError)
  if (known === undefined) {
    request.log.error({ err: error }, 'unhandled error')
    void reply.status(500).send({ code: 'internal-error', message: 'internal error' } satisfies ErrorBody)
    return
  }
  const body: ErrorBody = { code: known.code, message: known.message }
  if (known.details.length > 0) body.errors = known.details
  void reply.status(known.httpStatus).send(body)
}
