import { AppError } from '../../lib/errors.ts'

const invalid = (code: string, path: string, message: string) =>
  new AppError(code, 422, message, { details: [{ path, message }] })

export const payoutNotFound = () => new AppError('payout-not-found', 404, 'no such payout in this store')
export const destinationInvalid = (reason: string) =>
  invalid('destination-invalid', 'body.destination', reason)
export const payoutNetworkUnknown = (network: string) =>
  invalid('network-unknown', 'body.network', `network ${network} is not configured`)
export const payoutAssetUnsupported = (asset: string, network: string) =>
  invalid('asset-unsupported', 'body.asset', `${asset} is not configured on ${network}`)
export const payoutAmountInvalid = (message: string) => invalid('amount-invalid', 'body.amount', message)
export const payoutExceedsBalance = () =>
  new AppError('payout-exceeds-balance', 409, 'the store’s available balance cannot cover this payout')
export const payoutReferenceTaken = () =>
  new AppError('payout-reference-taken', 409, 'another payout of this store has this external reference')
export const payoutStatusConflict = (status: string, action: string) =>
  new AppError('payout-status-conflict', 409, `a payout that is ${status} cannot be ${action}`)
export const payoutOldRevision = (current: number) =>
  new AppError('payout-old-revision', 409, `the payout changed since; its revision is now ${current}`)
export const approverNotFound = () =>
  new AppError('approver-not-found', 404, 'no such approver in this store')
export const approvalTotpInvalid = () =>
  new AppError('approval-totp-invalid', 403, 'the one-time code is wrong, expired or already used')
export const approvalTotpRateLimited = (retryAfterSeconds: bigint) =>
  new AppError(
    'approval-totp-rate-limited',
    429,
    `too many wrong one-time codes for this approver; retry in ${retryAfterSeconds} s`,
  )
export const approverNotEligible = (reason: string) => new AppError('approver-not-eligible', 403, reason)
export const approvalDuplicate = () =>
  new AppError('approval-duplicate', 409, 'this approver already decided on this payout')
export const policyInvalid = (message: string) => invalid('policy-invalid', 'body.policy', message)
export const policyVersionNotFound = () =>
  new AppError('policy-version-not-found', 404, 'no such proposed policy version')
export const destinationNotInAddressBook = () =>
  new AppError(
    'destination-not-in-address-book',
    403,
    'this store pays only to addresses in its address book (whitelist-only mode)',
    { details: [{ path: 'body.destination', message: 'not in the store’s address book for this network' }] },
  )
export const destinationCoolingDown = (until: Date) =>
  new AppError(
    'destination-cooling-down',
    409,
    `this address-book entry is new: it can receive from ${until.toISOString()}`,
    { details: [{ path: 'body.destination', message: `cooling down until ${until.toISOString()}` }] },
  )
export const addressBookEntryNotFound = () =>
  new AppError('address-book-entry-not-found', 404, 'no such address-book entry in this store')
export const addressBookEntryExists = () =>
  new AppError('address-book-entry-exists', 409, 'this address is already in the store’s address book', {
    details: [{ path: 'body.address', message: 'already in the address book' }],
  })
export const addressInvalid = (reason: string) => invalid('destination-invalid', 'body.address', reason)
export const customerNotFound = () =>
  invalid('customer-not-found', 'body.customer_id', 'no such customer in this store')
export const settingsInvalid = (path: string, message: string) =>
  invalid('payout-settings-invalid', path, message)
