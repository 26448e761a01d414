/**
 * The one base for operating errors (bad input, business rules, unavailable dependencies).
 * `code` is a stable kebab-case string that clients may branch on; `message` is for people.
 * Bugs are not AppErrors: they are assertion failures (see assert.ts) and crash the process.
 */
export type ErrorDetail = { path: string; message: string }

export class AppError extends Error {
  override readonly name = 'AppError'
  readonly code: string
  readonly httpStatus: number
  readonly details: readonly ErrorDetail[]

  constructor(
    code: string,
    httpStatus: number,
    message: string,
    options: { details?: readonly ErrorDetail[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.httpStatus = httpStatus
    this.details = options.details ?? []
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError
}
