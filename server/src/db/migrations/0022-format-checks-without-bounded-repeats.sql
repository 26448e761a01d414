-- Owned by server/src/db (schema-wide). docs/adr/0023-format-checks-without-bounded-repeats.md.

-- The same formats, checked for a fraction of the CPU. PostgreSQL's regex engine runs a bounded repeat
-- such as [0-9a-f]{64} as that many chained states: measured per value, ~10 µs for a 64-digit hash,
-- ~4.5 µs for an address and ~17 µs for an Idempotency-Key's {1,255}, against ~0.4-0.9 µs for the
-- unbounded class plus a length test. Every row of payments, chain_blocks, deposit_addresses and
-- idempotency_keys paid it: about a tenth of the database's CPU per invoice. Each rewritten check accepts
-- exactly the values the old one did: a bracket class matches one character and length() counts
-- characters, so fixing the length fixes the count the repeat did.
-- `check-constraints.int.test.ts` holds both sides of each, and refuses a bounded repeat in any check.

alter table hd_accounts drop constraint hd_accounts_xpub_check,
  add constraint hd_accounts_xpub_check
    check (length(xpub) between 104 and 119 and xpub ~ '^xpub[1-9A-HJ-NP-Za-km-z]+$');

alter table sanction_list_versions drop constraint sanction_list_versions_content_hash_check,
  add constraint sanction_list_versions_content_hash_check
    check (length(content_hash) = 64 and content_hash ~ '^[0-9a-f]+$'),
  drop constraint sanction_list_versions_file_sha256_check,
  add constraint sanction_list_versions_file_sha256_check
    check (length(file_sha256) = 64 and file_sha256 ~ '^[0-9a-f]+$');

alter table chain_blocks drop constraint chain_blocks_hash_check,
  add constraint chain_blocks_hash_check check (length(hash) = 66 and hash ~ '^0x[0-9a-f]+$');

alter table deposit_addresses drop constraint deposit_addresses_address_check,
  add constraint deposit_addresses_address_check
    check (length(address) = 42 and address ~ '^0x[0-9a-f]+$');

alter table deposit_address_pool drop constraint deposit_address_pool_address_check,
  add constraint deposit_address_pool_address_check
    check (length(address) = 42 and address ~ '^0x[0-9a-f]+$');

alter table payments drop constraint payments_tx_hash_check,
  add constraint payments_tx_hash_check check (length(tx_hash) = 66 and tx_hash ~ '^0x[0-9a-f]+$');

alter table idempotency_keys drop constraint idempotency_keys_key_check,
  add constraint idempotency_keys_key_check
    check (length(key) between 1 and 255 and key ~ '^[A-Za-z0-9_:.-]+$');

alter table sweeps drop constraint sweeps_hot_wallet_address_check,
  add constraint sweeps_hot_wallet_address_check
    check (length(hot_wallet_address) = 42 and hot_wallet_address ~ '^0x[0-9a-f]+$'),
  drop constraint sweeps_token_address_check,
  add constraint sweeps_token_address_check
    check (length(token_address) = 42 and token_address ~ '^0x[0-9a-f]+$'),
  drop constraint sweeps_sweep_tx_hash_check,
  add constraint sweeps_sweep_tx_hash_check
    check (length(sweep_tx_hash) = 66 and sweep_tx_hash ~ '^0x[0-9a-f]+$'),
  drop constraint sweeps_top_up_tx_hash_check,
  add constraint sweeps_top_up_tx_hash_check
    check (length(top_up_tx_hash) = 66 and top_up_tx_hash ~ '^0x[0-9a-f]+$');

alter table hot_wallet_nonces drop constraint hot_wallet_nonces_address_check,
  add constraint hot_wallet_nonces_address_check
    check (length(address) = 42 and address ~ '^0x[0-9a-f]+$');

alter table invoices drop constraint invoices_currency_check,
  add constraint invoices_currency_check check (length(currency) between 3 and 5 and currency ~ '^[A-Z]+$');

alter table payment_links drop constraint payment_links_currency_check,
  add constraint payment_links_currency_check
    check (length(currency) between 3 and 5 and currency ~ '^[A-Z]+$');

alter table refunds drop constraint refunds_destination_check,
  add constraint refunds_destination_check
    check (length(destination) = 42 and destination ~ '^0x[0-9a-fA-F]+$');

alter table payouts drop constraint payouts_token_address_check,
  add constraint payouts_token_address_check
    check (length(token_address) = 42 and token_address ~ '^0x[0-9a-f]+$');

alter table payout_transactions drop constraint payout_transactions_tx_hash_check,
  add constraint payout_transactions_tx_hash_check
    check (length(tx_hash) = 66 and tx_hash ~ '^0x[0-9a-f]+$');

alter table payout_address_book drop constraint payout_address_book_address_check,
  add constraint payout_address_book_address_check
    check (length(address) = 42 and address ~ '^0x[0-9a-f]+$');

alter table payout_batches drop constraint payout_batches_contract_address_check,
  add constraint payout_batches_contract_address_check
    check (length(contract_address) = 42 and contract_address ~ '^0x[0-9a-f]+$'),
  drop constraint payout_batches_token_address_check,
  add constraint payout_batches_token_address_check
    check (length(token_address) = 42 and token_address ~ '^0x[0-9a-f]+$');

alter table payout_batch_transactions drop constraint payout_batch_transactions_tx_hash_check,
  add constraint payout_batch_transactions_tx_hash_check
    check (length(tx_hash) = 66 and tx_hash ~ '^0x[0-9a-f]+$');

alter table dashboard_credentials drop constraint dashboard_credentials_login_check,
  add constraint dashboard_credentials_login_check
    check (length(login) between 1 and 100 and login ~ '^[a-z0-9._@-]+$');

alter table dashboard_sessions drop constraint dashboard_sessions_token_hash_check,
  add constraint dashboard_sessions_token_hash_check
    check (length(token_hash) = 64 and token_hash ~ '^[0-9a-f]+$');

alter table treasury_proposals drop constraint treasury_proposals_cold_address_check,
  add constraint treasury_proposals_cold_address_check
    check (length(cold_address) = 42 and cold_address ~ '^0x[0-9a-f]+$'),
  drop constraint treasury_proposals_hot_wallet_address_check,
  add constraint treasury_proposals_hot_wallet_address_check
    check (length(hot_wallet_address) = 42 and hot_wallet_address ~ '^0x[0-9a-f]+$'),
  drop constraint treasury_proposals_token_address_check,
  add constraint treasury_proposals_token_address_check
    check (length(token_address) = 42 and token_address ~ '^0x[0-9a-f]+$'),
  drop constraint treasury_proposals_tx_hash_check,
  add constraint treasury_proposals_tx_hash_check
    check (length(tx_hash) = 66 and tx_hash ~ '^0x[0-9a-f]+$');

alter table treasury_balances drop constraint treasury_balances_address_check,
  add constraint treasury_balances_address_check
    check (length(address) = 42 and address ~ '^0x[0-9a-f]+$');

alter table dashboard_passkey_challenges drop constraint dashboard_passkey_challenges_challenge_hash_check,
  add constraint dashboard_passkey_challenges_challenge_hash_check
    check (length(challenge_hash) = 64 and challenge_hash ~ '^[0-9a-f]+$');
