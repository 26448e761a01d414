-- An endpoint registered while the gateway allows local receivers (config webhooks.allowLocalEndpoints,
-- on by default on a devnet) may reach loopback and private hosts over https. Every other endpoint is
-- refused such addresses, at registration and before each delivery (security review, 2026-11-22):
-- a store's receiver is on the internet, and an endpoint reaching the gateway's own network would let a
-- webhooks key probe it. allow_insecure (operator-only) still also allows http:// and link-local hosts.
alter table webhook_endpoints add column allow_local boolean not null default false;
