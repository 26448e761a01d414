import { AppError } from '../../lib/errors.ts'

export const paymentNotFound = (id: string) => new AppError('payment-not-found', 404, `no payment ${id}`)
