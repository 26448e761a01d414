import { AppError } from '../../lib/errors.ts'

export const treasuryProposalNotFound = () =>
  new AppError('treasury-proposal-not-found', 404, 'no such treasury proposal')
export const treasuryProposalOldRevision = (current: number) =>
  new AppError(
    'treasury-proposal-old-revision',
    409,
    `the proposal changed since; its revision is now ${current}`,
  )
export const treasuryProposalNotApprovable = (reason: string) =>
  new AppError('treasury-proposal-not-approvable', 409, reason)
export const treasuryApprovalTotpInvalid = () =>
  new AppError('approval-totp-invalid', 403, 'the one-time code is wrong, expired or already used')
export const treasuryApproverNotEligible = () =>
  new AppError('approver-not-eligible', 403, 'only a treasurer (or admin) approves treasury moves')
