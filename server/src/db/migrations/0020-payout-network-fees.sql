-- Owned by server/src/modules/payouts. docs/adr/0014 (cost).
-- What sending a payout cost, kept for the cost-per-settled-payment KPI: the gas (wei; a batch item's
-- share of its batch's gas, as booked in the ledger as `payout-fee:<id>`) and, when the configured rates
-- price the network's native coin in the payout's token, the same in the payout asset's minor units
-- (rounded down: an estimate for reporting, never a ledger amount) with the rate used.
alter table payouts add column network_fee_wei numeric(78, 0) check (network_fee_wei >= 0);
alter table payouts add column network_fee_in_asset numeric(78, 0) check (network_fee_in_asset >= 0);
alter table payouts add column network_fee_rate text;
alter table payouts add constraint payouts_network_fee_check
  check ((network_fee_in_asset is null) = (network_fee_rate is null)
    and (network_fee_in_asset is null or network_fee_wei is not null));
