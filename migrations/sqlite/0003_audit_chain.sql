-- The audit log's HMAC chain: each node (one chain per server run) numbers its entries
-- and seals each with an HMAC over the previous entry's HMAC and its own contents.
ALTER TABLE audit_entries ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_entries ADD COLUMN mac TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX audit_entries_chain ON audit_entries (node, seq);
