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

/** Parses untrusted input with a zod schema; failures become 422 validation-failed with JSON paths. */
export function parseInput<T extends z.ZodType>(
  schema: T,
  value: unknown,
  prefix: 'body' | 'query' | 'params',
): z.infer<T> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw validationFailed(
    result.error.issues.map((issue) => ({ path: issuePath(prefix, issue.path), message: issue.message })),
  )
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
