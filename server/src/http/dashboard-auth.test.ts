import type { FastifyRequest } from 'fastify'
import { describe, expect, it } from 'vitest'
import { apiKeyScopes } from '../modules/merchants/merchant.types.ts'
import { isDashboardRequest, readSessionCookie, scopesOfRoles } from './dashboard-auth.ts'

const request = (headers: Record<string, string>) => ({ headers }) as unknown as FastifyRequest

describe('dashboard authentication', () => {
  it('maps roles to API scopes: auditors read, approvers approve, admins hold every scope', () => {
    expect(scopesOfRoles(['auditor']).every((scope) => scope.endsWith(':read'))).toBe(true)
    expect(scopesOfRoles(['approver'])).toContain('payouts:approve')
    expect(scopesOfRoles(['approver'])).not.toContain('payouts:write')
    expect(scopesOfRoles(['initiator'])).toContain('payouts:write')
    expect(scopesOfRoles(['admin'])).toEqual([...apiKeyScopes])
  })

  it('takes the cookie path only with the dashboard header and without an API key', () => {
    const cookie = 'other=1; sluice_session=abc=def; last=2'
    expect(readSessionCookie(request({ cookie }))).toBe('abc=def')
    expect(isDashboardRequest(request({ cookie, 'x-sluice-client': 'dashboard' }))).toBe(true)
    // A cross-site form cannot add the header: a cookie alone never authenticates a contract operation.
    expect(isDashboardRequest(request({ cookie }))).toBe(false)
    expect(
      isDashboardRequest(request({ cookie, 'x-sluice-client': 'dashboard', authorization: 'Bearer sk_x' })),
    ).toBe(false)
    expect(isDashboardRequest(request({ 'x-sluice-client': 'dashboard' }))).toBe(false)
  })
})
