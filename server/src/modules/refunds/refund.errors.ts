import { AppError } from '../../lib/errors.ts'

const invalid = (code: string, path: string, message: string) =>
  new AppError(code, 422, message, { details: [{ path, message }] })

export const refundNotFound = () => new AppError('refund-not-found', 404, 'no such refund in this store')
export const invoiceNotRefundable = (status: string, exception: string) =>
  new AppError(
    'invoice-not-refundable',
    409,
    `a ${status} invoice (exception ${exception}) holds no buyer money to refund`,
  )
export const refundAssetInvalid = (assetId: string) =>
  invalid('refund-asset-invalid', 'body.asset', `the invoice received no final payment in ${assetId}`)
export const refundAmountInvalid = (code: string, message: string) => invalid(code, 'body.amount', message)
export const refundExceedsRefundable = (refundable: string, assetId: string) =>
  invalid(
    'refund-exceeds-refundable',
    'body.amount',
    `at most ${refundable} ${assetId} is refundable (paid, less refunds open or paid)`,
  )
export const refundExceedsBalance = (cause?: unknown) =>
  new AppError(
    'refund-exceeds-balance',
    409,
    'the store’s available balance cannot cover this refund (funds were paid out or are reserved)',
    { cause },
  )
/**
 * Part of the invoice's buyer credit is still owed (an overpayment not yet credited, or a refund's unpaid
 * buyer-credit part not yet returned) and the store's available balance cannot cover it now: a refund
 * split against the credit as it stands would take that part from the store a second time.
 */
export const refundBuyerCreditPending = (cause?: unknown) =>
  new AppError(
    'refund-buyer-credit-pending',
    409,
    'part of this invoice’s buyer credit waits for the store’s available balance (an overpayment or an ' +
      'unpaid refund to credit back): retry later, with a new Idempotency-Key, once funds are available',
    { cause },
  )
export const refundsPerInvoiceExceeded = (max: number) =>
  new AppError('refunds-per-invoice-exceeded', 409, `an invoice has at most ${max} refunds`)
export const refundStatusConflict = (status: string, action: string) =>
  new AppError('refund-status-conflict', 409, `a refund that is ${status} cannot be ${action}`)
export const refundLinkNotFound = () =>
  new AppError('refund-link-not-found', 404, 'no refund has this link (a reissued link replaces the old one)')
export const refundLinkUsed = () =>
  new AppError('refund-link-used', 410, 'a destination was already given for this refund')
export const refundCancelled = () =>
  new AppError('refund-cancelled', 410, 'the merchant cancelled this refund')
export const refundExpired = () =>
  new AppError('refund-expired', 410, 'this refund lapsed before a destination was given')
export const destinationInvalid = (message: string) => invalid('destination-invalid', 'body.address', message)
