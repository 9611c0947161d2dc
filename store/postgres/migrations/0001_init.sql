-- The portal's store on PostgreSQL. Constraints do the work that bbolt's
-- index buckets do by hand: a second account with the same email (any case),
-- key fingerprint or Stripe customer, or a second record of one Stripe event,
-- is refused by the database whichever instance writes it.

-- An account's fields live in data (the store's Account, as JSON) so a field
-- added in Go needs no migration; the columns beside it are the ones SQL must
-- see: what is unique, what is looked up, what is compared.
CREATE TABLE accounts (
    id          text PRIMARY KEY,
    email       text NOT NULL CHECK (email <> ''),
    customer_id text CHECK (customer_id <> ''),
    version     bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    data        jsonb NOT NULL
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));
CREATE UNIQUE INDEX accounts_customer_key ON accounts (customer_id);

CREATE TABLE account_keys (
    fingerprint text PRIMARY KEY,
    account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    public_key  text NOT NULL,
    added_at    timestamptz NOT NULL,
    position    int NOT NULL
);
CREATE INDEX account_keys_account ON account_keys (account_id, position);

CREATE TABLE events (
    id          text PRIMARY KEY,
    type        text NOT NULL,
    created     timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    account_id  text,
    status      text NOT NULL,
    error       text NOT NULL DEFAULT '',
    latency_ns  bigint NOT NULL DEFAULT 0,
    duplicates  int NOT NULL DEFAULT 0,
    -- insertion order breaks ties of received_at, as bbolt's index does by id
    ord         bigserial NOT NULL
);
CREATE INDEX events_received ON events (received_at DESC, id DESC);
CREATE INDEX events_account ON events (account_id, received_at DESC, id DESC) WHERE account_id IS NOT NULL;

CREATE TABLE notices (
    seq        bigserial PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind <> ''),
    key        text NOT NULL,
    message    text NOT NULL,
    created_at timestamptz NOT NULL,
    mailed_at  timestamptz,
    mail_tries int NOT NULL DEFAULT 0,
    mail_error text NOT NULL DEFAULT '',
    next_mail_at timestamptz,
    UNIQUE (account_id, kind, key)
);
CREATE INDEX notices_outbox ON notices (seq) WHERE mailed_at IS NULL;

CREATE TABLE audit (
    seq        bigserial PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    actor      text NOT NULL,
    account_id text NOT NULL,
    action     text NOT NULL,
    before     text NOT NULL,
    after      text NOT NULL,
    at         timestamptz NOT NULL
);
CREATE INDEX audit_account ON audit (account_id, seq) WHERE account_id <> '';

CREATE TABLE links (
    token      text PRIMARY KEY,
    target     text NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX links_expiry ON links (expires_at);

-- The change feed's outbox: one row per committed change to an account,
-- written in the change's transaction. xid comes first so that an insert
-- evaluates pg_current_xact_id() (which assigns the transaction id) before
-- nextval: every seq is then taken by a transaction that already has its
-- xid, which the feed's reader relies on (see feed.go).
CREATE TABLE changes (
    xid        xid8 NOT NULL,
    seq        bigserial PRIMARY KEY,
    account_id text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX changes_at ON changes (at);

-- The feed's rows up to through were pruned: a subscriber asking to resume
-- from before it must re-read everything instead.
CREATE TABLE changes_pruned (
    one     bool PRIMARY KEY DEFAULT true CHECK (one),
    through bigint NOT NULL
);
INSERT INTO changes_pruned (through) VALUES (0);
