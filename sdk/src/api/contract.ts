import { createApiKey, listApiKeys, revokeApiKey } from './api-keys.ts'
import { getBalanceStatement, listBalances } from './balances.ts'
import { createCustomer, getCustomer, listCustomerDeposits, listCustomers } from './customers.ts'
import { createInvoice, getInvoice, listInvoices, markInvoice } from './invoices.ts'
import { getPublicNetworkFees } from './network-fees.ts'
import type { AnyOperation } from './operation.ts'
import {
  createPaymentLink,
  deactivatePaymentLink,
  getPaymentLink,
  listPaymentLinks,
} from './payment-links.ts'
import {
  createPayoutAddress,
  deletePayoutAddress,
  getPayoutAddress,
  getPayoutSettings,
  listPayoutAddresses,
  updatePayoutAddress,
  updatePayoutSettings,
} from './payout-address-book.ts'
import {
  approvePayout,
  approvePayoutPolicy,
  cancelPayout,
  createPayout,
  createPayoutBatch,
  engagePanic,
  enrolPayoutApprover,
  getPayout,
  getPayoutPolicy,
  listPayouts,
  proposePayoutPolicy,
  rejectPayout,
  releasePanic,
} from './payouts.ts'
import {
  getPublicInvoice,
  getPublicPaymentLink,
  getPublicRefund,
  openPaymentLink,
  submitRefundDestination,
} from './public.ts'
import { cancelRefund, createRefund, getRefund, listInvoiceRefunds, reissueRefundLink } from './refunds.ts'
import { getStore } from './store.ts'
import {
  approveTreasuryProposal,
  listTreasuryBalances,
  listTreasuryProposals,
  rejectTreasuryProposal,
} from './treasury.ts'
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookDelivery,
  getWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpointDeliveries,
  listWebhookEndpoints,
  redeliverWebhookDelivery,
  rotateWebhookEndpointSecret,
  sendWebhookEndpointTest,
  updateWebhookEndpoint,
} from './webhooks.ts'

/**
 * Every operation of the public API, keyed by operationId. The server must bind exactly one handler to
 * each (checked at start-up), the OpenAPI document lists each, and the SDK client has one method each.
 */
export const apiContract = {
  getStore,
  createApiKey,
  listApiKeys,
  revokeApiKey,
  createWebhookEndpoint,
  listWebhookEndpoints,
  getWebhookEndpoint,
  updateWebhookEndpoint,
  deleteWebhookEndpoint,
  rotateWebhookEndpointSecret,
  sendWebhookEndpointTest,
  listWebhookEndpointDeliveries,
  listWebhookDeliveries,
  getWebhookDelivery,
  redeliverWebhookDelivery,
  listBalances,
  getBalanceStatement,
  createCustomer,
  getCustomer,
  listCustomers,
  listCustomerDeposits,
  createInvoice,
  getInvoice,
  listInvoices,
  markInvoice,
  createPaymentLink,
  listPaymentLinks,
  getPaymentLink,
  deactivatePaymentLink,
  createRefund,
  listInvoiceRefunds,
  getRefund,
  cancelRefund,
  reissueRefundLink,
  createPayout,
  getPayout,
  listPayouts,
  cancelPayout,
  approvePayout,
  rejectPayout,
  enrolPayoutApprover,
  getPayoutPolicy,
  proposePayoutPolicy,
  approvePayoutPolicy,
  engagePanic,
  releasePanic,
  createPayoutBatch,
  createPayoutAddress,
  listPayoutAddresses,
  getPayoutAddress,
  updatePayoutAddress,
  deletePayoutAddress,
  getPayoutSettings,
  updatePayoutSettings,
  listTreasuryProposals,
  listTreasuryBalances,
  approveTreasuryProposal,
  rejectTreasuryProposal,
  getPublicInvoice,
  getPublicPaymentLink,
  openPaymentLink,
  getPublicRefund,
  submitRefundDestination,
  getPublicNetworkFees,
} as const

export type ApiContract = typeof apiContract
export type OperationId = keyof ApiContract

export const apiOperations: readonly AnyOperation[] = Object.values(apiContract)
