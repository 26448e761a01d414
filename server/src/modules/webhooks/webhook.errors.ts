import { AppError } from '../../lib/errors.ts'
import { webhookLimits } from './webhook.limits.ts'

export const webhookEndpointNotFound = (endpointId: string) =>
  new AppError('webhook-endpoint-not-found', 404, `no webhook endpoint ${endpointId}`)

export const webhookDeliveryNotFound = (deliveryId: string) =>
  new AppError('webhook-delivery-not-found', 404, `no webhook delivery ${deliveryId}`)

export const webhookUrlInvalid = (reason: string) =>
  new AppError('webhook-url-invalid', 422, `webhook URL: ${reason}`, {
    details: [{ path: 'url', message: reason }],
  })

// A separate code from url-invalid: the URL is well formed, but where it points is not allowed.
export const webhookUrlRefused = (reason: string) =>
  new AppError('webhook-url-refused', 422, `webhook URL refused: ${reason}`, {
    details: [{ path: 'url', message: reason }],
  })

export const webhookEventFilterInvalid = (reason: string) =>
  new AppError('webhook-event-filter-invalid', 422, reason, {
    details: [{ path: 'eventFilter', message: reason }],
  })

export const webhookDescriptionTooLong = () =>
  new AppError(
    'validation-failed',
    422,
    `description is longer than ${webhookLimits.descriptionLengthMax} characters`,
    { details: [{ path: 'description', message: 'too long' }] },
  )

export const webhookEndpointsLimitReached = () =>
  new AppError(
    'webhook-endpoints-limit-reached',
    409,
    `a store has at most ${webhookLimits.endpointsPerMerchantMax} webhook endpoints`,
  )

export const webhookEndpointDisabled = (endpointId: string) =>
  new AppError(
    'webhook-endpoint-disabled',
    409,
    `webhook endpoint ${endpointId} is disabled; enable it first`,
  )

export const webhookRotationOverlapInvalid = () =>
  new AppError(
    'webhook-rotation-overlap-invalid',
    422,
    `overlapMs must be an integer between 0 and ${webhookLimits.secretRotationOverlapMsMax}`,
    { details: [{ path: 'overlapMs', message: 'out of range' }] },
  )

export const webhookRedeliveryLimitReached = (deliveryId: string) =>
  new AppError(
    'webhook-redelivery-limit-reached',
    409,
    `delivery ${deliveryId} was redelivered ${webhookLimits.seriesPerDeliveryMax - 1} times already`,
  )

export const webhookPageInvalid = (reason: string) =>
  new AppError('validation-failed', 422, reason, { details: [{ path: 'limit', message: reason }] })

export const webhookCursorInvalid = () =>
  new AppError('validation-failed', 422, 'cursor is not one this API returned', {
    details: [{ path: 'cursor', message: 'invalid' }],
  })
