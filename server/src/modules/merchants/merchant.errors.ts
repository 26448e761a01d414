import { AppError } from '../../lib/errors.ts'

export const authenticationRequired = () =>
  new AppError('authentication-required', 401, 'send an API key as "Authorization: Bearer <key>"')
export const apiKeyInvalid = () => new AppError('api-key-invalid', 401, 'the API key is unknown or revoked')
export const scopeMissing = (scope: string) =>
  new AppError('scope-missing', 403, `the API key lacks the "${scope}" scope`)
export const adminKeyRequired = () =>
  new AppError('scope-missing', 403, 'this operation needs an admin key: one holding every scope')
export const scopeNotGrantable = (scope: string) =>
  new AppError('scope-missing', 403, `the API key cannot grant the "${scope}" scope, which it lacks`)
// The same answer for "no such key" and "another store's key": existence is not revealed across stores.
export const apiKeyNotFound = () => new AppError('api-key-not-found', 404, 'no such API key in this store')
/**
 * The treasury (hot and cold wallets, floor/ceiling proposals, sweeps to cold) is the gateway operator's:
 * a store outside config `operatorStores` is refused before anything is read (docs/adr/0026-operator-store.md).
 */
export const treasuryOperatorOnly = () =>
  new AppError(
    'treasury-operator-only',
    403,
    "the treasury belongs to the gateway's operator, and this store is not an operator store",
  )
