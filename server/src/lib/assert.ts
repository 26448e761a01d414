/**
 * Invariants that only a bug can break. A failed assertion throws AssertionFailure, which the
 * process-level handler treats as fatal (exit, let the supervisor restart): never log and carry on.
 */
export class AssertionFailure extends Error {
  override readonly name = 'AssertionFailure'
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionFailure(message)
}

export function assertNever(value: never, context: string): never {
  throw new AssertionFailure(`${context}: unexpected ${JSON.stringify(value)}`)
}
