-- Owned by server/src/modules/refunds. docs/adr/0013 (refunds), 0014 (payouts).
-- A refund whose buyer named a destination becomes a payout (job `pay-out-refund`): its reservations are
-- voided, its buyer-credit part moved to the store's available balance, and the payout reserves the whole
-- amount from there, all in one transaction. The refund then points at the payout, which carries it.
alter table refunds drop constraint refunds_status_check;
alter table refunds add constraint refunds_status_check
  check (status in ('awaiting_destination', 'awaiting_payout', 'payout_requested', 'cancelled'));
alter table refunds add column payout_id text references payouts (id);
-- Why the last attempt to create the payout was refused (address book, cooldown): shown to the merchant.
alter table refunds add column payout_error text check (length(payout_error) <= 500);
alter table refunds add constraint refunds_payout_check check ((status = 'payout_requested') = (payout_id is not null));
