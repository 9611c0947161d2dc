-- The portal's store on PostgreSQL. Constraints do the work that bbolt's
-- index buckets do by hand: a second account with the same email (any case),
-- key fingerprint or Stripe customer, or a second record of one Stripe event,
-- is refused by the database whichever instance writes it.
--
-- Each record's fields live in data (the store's Go struct as JSON, the
-- format bbolt keeps) so a field added in Go needs no migration and times
-- keep their nanoseconds; the columns beside it are what SQL must see: what
-- is unique, what is looked up, what orders a listing.

CREATE TABLE accounts (
    id          text PRIMARY KEY,
    email       text NOT NULL CHECK (email <> ''),
    customer_id text CHECK (customer_id <> ''),
    data        jsonb NOT NULL
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));
CREATE UNIQUE INDEX accounts_customer_key ON accounts (customer_id);

CREATE TABLE account_keys (
    fingerprint text PRIMARY KEY,
    account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE INDEX account_keys_account ON account_keys (account_id);

CREATE TABLE events (
    id          text PRIMARY KEY,
    account_id  text,
    received_ns bigint NOT NULL, -- ReceivedAt, Unix nanoseconds
    data        jsonb NOT NULL
);
CREATE INDEX events_received ON events (received_ns DESC, id DESC);
CREATE INDEX events_account ON events (account_id, received_ns DESC, id DESC) WHERE account_id IS NOT NULL;

CREATE TABLE notices (
    seq        bigserial PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind <> ''),
    key        text NOT NULL,
    mailed     bool NOT NULL DEFAULT false,
    data       jsonb NOT NULL,
    UNIQUE (account_id, kind, key)
);
CREATE INDEX notices_account ON notices (account_id, seq);
CREATE INDEX notices_outbox ON notices (seq) WHERE NOT mailed;

CREATE TABLE audit (
    seq        bigserial PRIMARY KEY,
    account_id text NOT NULL,
    data       jsonb NOT NULL
);
CREATE INDEX audit_account ON audit (account_id, seq) WHERE account_id <> '';

CREATE TABLE pending_checkouts (
    account_id text PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    session_id text UNIQUE CHECK (session_id <> ''),
    data       jsonb NOT NULL
);

CREATE TABLE links (
    token      text PRIMARY KEY,
    target     text NOT NULL,
    expires_ns bigint NOT NULL -- Unix nanoseconds, on billing's clock
);
CREATE INDEX links_expiry ON links (expires_ns);

-- The change feed: one row per account changed by a transaction, written in
-- that transaction. seq is gapless and commits in order: a transaction takes
-- its numbers from feed_counter as its last statement before COMMIT, and the
-- counter's row lock makes the next transaction wait until this one has
-- committed. A sequence (bigserial) would leave gaps on rollback and let 10
-- become visible before 9 (see feed.go).
CREATE TABLE changes (
    seq        bigint PRIMARY KEY,
    account_id text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX changes_at ON changes (at);
-- LastSeq of one account; pruning keeps each account's newest row.
CREATE INDEX changes_account ON changes (account_id, seq);

CREATE TABLE feed_counter (
    one  bool PRIMARY KEY DEFAULT true CHECK (one),
    last bigint NOT NULL
);
INSERT INTO feed_counter (last) VALUES (0);

-- The feed's rows up to through were pruned: a subscriber resuming from
-- before it must re-read everything it shows. (Not in feed_counter, whose
-- row every writer locks.)
CREATE TABLE feed_pruned (
    one     bool PRIMARY KEY DEFAULT true CHECK (one),
    through bigint NOT NULL
);
INSERT INTO feed_pruned (through) VALUES (0);
