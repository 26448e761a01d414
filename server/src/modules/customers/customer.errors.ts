import { AppError } from '../../lib/errors.ts'

export const customerNotFound = () =>
  new AppError('customer-not-found', 404, 'no such customer in this store')
export const customerExternalIdTaken = (externalId: string) =>
  new AppError(
    'customer-external-id-taken',
    409,
    `a customer with external_id "${externalId}" already exists`,
  )
