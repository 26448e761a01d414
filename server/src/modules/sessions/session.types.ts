import type { PayoutRole } from '../payouts/payout.types.ts'

/** A signed-in dashboard user: one of a store's payout approvers, with their roles. */
export type DashboardSession = Readonly<{
  id: string
  approverId: string
  merchantId: string
  name: string
  login: string
  roles: readonly PayoutRole[]
  createdAt: Date
  expiresAt: Date
}>

/** What sign-in returns: the session and its bearer token, which only the cookie ever carries. */
export type SignedIn = Readonly<{ session: DashboardSession; token: string }>

export type DashboardCredential = Readonly<{
  approverId: string
  merchantId: string
  login: string
  passwordHash: string
}>

export type SignInFailureReason = 'unknown-login' | 'password' | 'totp'
