-- Wrong one-time codes given for an approver (payout and policy approvals, treasury decisions), counted
-- over a window: a code is six digits, so without a bound a key holder could try them all (security
-- review, 2026-11-22). Rows live one window; each insert prunes the expired ones. No foreign key: attempts
-- against an unknown approver id are counted too.
create table approver_totp_failures (
  id bigserial primary key,
  approver_id text not null,
  created_at timestamptz not null
);
create index approver_totp_failures_approver_idx on approver_totp_failures (approver_id, created_at);
create index approver_totp_failures_created_idx on approver_totp_failures (created_at);
