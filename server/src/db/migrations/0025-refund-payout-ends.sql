-- Owned by server/src/modules/refunds. docs/adr/0013 (refunds), 0014 (payouts), 0015 (canaries).
-- A refund follows its payout's end. pay-out-refund moved the refund's buyer-credit part to the store's
-- available balance for the payout to reserve; when that payout ends unpaid, its reservation returns to
-- `available`, and the part the buyer credit gave must go back to the buyer credit. Whichever code ends a
-- payout or its canary (failed, cancelled, rejected, blocked: all voids), the status change writes a
-- `refund-payout-ended` job in its own transaction, here, so no path of the payouts module can miss it;
-- the refunds module's job (refund.service.ts followRefundPayout) decides, once every part has ended,
-- what goes back. Finalized counts too: a canary paid after its parent was cancelled changes how much.
-- attempts_max is limits.jobAttemptsMax (25). No NOTIFY (docs/adr/0010): workers find it when they poll.
create index refunds_payout_idx on refunds (payout_id) where payout_id is not null;

create function refunds_follow_payout_end() returns trigger language plpgsql as $$
declare
  refund_id text;
begin
  -- A canary carries no refund itself: its parent does.
  select r.id into refund_id from refunds r
   where r.payout_id = new.id or (new.parent_payout_id is not null and r.payout_id = new.parent_payout_id)
   limit 1;
  if refund_id is null then
    return null;
  end if;
  insert into jobs (kind, payload, attempts_max, dedupe_key)
  values ('refund-payout-ended', jsonb_build_object('refund_id', refund_id, 'payout_id', new.id), 25,
          'refund-payout-ended:' || new.id)
  on conflict (dedupe_key) do nothing;
  return null;
end $$;

create trigger payouts_refund_end after update of status on payouts
  for each row when (old.status is distinct from new.status
                     and new.status in ('finalized', 'failed', 'cancelled', 'blocked'))
  execute function refunds_follow_payout_end();

-- Refunds whose payout ended unpaid before this migration: their buyer-credit part reads as the store's.
insert into jobs (kind, payload, attempts_max, dedupe_key)
select 'refund-payout-ended', jsonb_build_object('refund_id', r.id, 'payout_id', p.id), 25,
       'refund-payout-ended:' || p.id
  from refunds r join payouts p on p.id = r.payout_id
 where r.from_buyer_credit > 0 and p.status in ('failed', 'cancelled', 'blocked')
on conflict (dedupe_key) do nothing;
