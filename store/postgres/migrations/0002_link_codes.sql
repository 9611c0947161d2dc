-- Link codes (adding a key to an account from another session): one per
-- account at a time, unique across accounts.
CREATE TABLE link_codes (
    code       text PRIMARY KEY,
    account_id text NOT NULL UNIQUE REFERENCES accounts (id) ON DELETE CASCADE,
    data       jsonb NOT NULL
);
