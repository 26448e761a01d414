-- docs/adr/0029-hot-path-parents-kept.md. The foreign keys checked by every invoice and every deposit are
-- replaced by parents that cannot go away. A foreign key's check runs per inserted row and locks the parent
-- row (FOR KEY SHARE): every invoice locked its store's one merchants row, concurrent batches of one store
-- turned that lock into a multixact, and a catch-up range locked 2,000 deposit_addresses rows one by one.
-- Measured (bench/api, bench/deposits): ~20 % of PostgreSQL's CPU per invoice, ~30 % of a range's insert.
--
-- What the keys guaranteed still holds, by other means:
-- * A child cannot be written without its parent: each insert takes the parent's id from a row read for it
--   (a payment joins deposit_addresses in its statement; a deposit address comes from the store's pool row,
--   which keeps its key to merchants; an invoice's store is its authenticated API key's).
-- * A parent cannot disappear or change its key under a child: the triggers below refuse it.
-- Off the hot paths (refunds, payment links, customers, …) the foreign keys stay.

alter table payments drop constraint payments_to_address_fkey;
alter table invoices drop constraint invoices_merchant_id_fkey;
alter table invoice_payment_options
  drop constraint invoice_payment_options_invoice_id_fkey,
  drop constraint invoice_payment_options_address_fkey;
alter table idempotency_keys drop constraint idempotency_keys_merchant_id_fkey;
alter table deposit_addresses drop constraint deposit_addresses_merchant_id_fkey;

create function refuse_parent_change() returns trigger language plpgsql as $$
begin
  raise exception '% on % refused: other rows name these rows (docs/adr/0029)', tg_op, tg_table_name
    using errcode = 'restrict_violation';
end $$;

-- No command or job deletes a store; its id never changes.
create trigger merchants_kept before delete on merchants
  for each row execute function refuse_parent_change();
create trigger merchants_no_truncate before truncate on merchants
  for each statement execute function refuse_parent_change();
create trigger merchants_id_kept before update of id on merchants
  for each row when (old.id is distinct from new.id) execute function refuse_parent_change();

-- A deposit address, once given out, is its owner's for ever (payments and sweeps name it): no row changes.
create trigger deposit_addresses_immutable before update or delete on deposit_addresses
  for each row execute function refuse_parent_change();
create trigger deposit_addresses_no_truncate before truncate on deposit_addresses
  for each statement execute function refuse_parent_change();

-- An invoice is never deleted (it settles, expires or is marked); its id and store never change.
create trigger invoices_kept before delete on invoices
  for each row execute function refuse_parent_change();
create trigger invoices_no_truncate before truncate on invoices
  for each statement execute function refuse_parent_change();
create trigger invoices_identity_kept before update of id, merchant_id on invoices
  for each row when (old.id is distinct from new.id or old.merchant_id is distinct from new.merchant_id)
  execute function refuse_parent_change();
