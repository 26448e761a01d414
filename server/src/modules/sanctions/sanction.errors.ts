import { AppError } from '../../lib/errors.ts'
import { sanctionLimits } from './sanction.limits.ts'

export const sanctionsPathNotFound = (path: string) =>
  new AppError('sanctions-path-not-found', 422, `no file or directory at ${path}`)

export const sanctionsFileUnsupported = (path: string) =>
  new AppError('sanctions-file-unsupported', 422, `${path}: a list file must end in .txt or .json`)

export const sanctionsNoListFiles = (paths: readonly string[]) =>
  new AppError(
    'sanctions-no-list-files',
    422,
    `no sanctioned_addresses_<TICKER>.txt/.json files in ${paths.join(', ')}`,
  )

export const sanctionsTooManyFiles = (count: number) =>
  new AppError(
    'sanctions-too-many-files',
    422,
    `${count} list files in one import; at most ${sanctionLimits.filesPerImportMax}`,
  )

export const sanctionsListInvalid = (reason: string) => new AppError('sanctions-list-invalid', 422, reason)

// An empty version would silently clear the source's active set (a truncated download unblocking everyone).
export const sanctionsListEmpty = () =>
  new AppError(
    'sanctions-list-empty',
    422,
    'the list holds no valid address; refusing to replace the active version',
  )

export const sanctionsListTooLarge = (what: string) => new AppError('sanctions-list-too-large', 422, what)

// Fail closed: "no match" against zero lists would read as "clear" to every caller.
export const sanctionsListsMissing = () =>
  new AppError(
    'sanctions-lists-missing',
    503,
    'no sanctions list has been imported; run `sluice sanctions import` before screening',
  )

export const screeningBatchTooLarge = (count: number) =>
  new AppError(
    'screening-batch-too-large',
    422,
    `${count} addresses in one screening call; at most ${sanctionLimits.screenBatchSizeMax}`,
  )

export const screeningAddressInvalid = (index: number, reason: string) =>
  new AppError('address-invalid', 422, `address ${index}: ${reason}`, {
    details: [{ path: `addresses[${index}]`, message: reason }],
  })
