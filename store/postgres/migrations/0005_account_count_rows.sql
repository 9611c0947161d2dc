-- The account counts that metrics read on every scrape are kept by the
-- database, not counted from the accounts (issue 15): a trigger adds a -1
-- row for an account's old (state, plan, sub_status) and a +1 row for its
-- new one whenever they change. The table is insert-only between folds, so
-- webhooks of other instances never wait on a shared counter row; a read
-- sums the rows and folds them back into one row per key (AccountCounts).
CREATE TABLE account_counts (
    id         bigserial PRIMARY KEY,
    state      text   NOT NULL,
    plan       text   NOT NULL,
    sub_status text   NOT NULL,
    n          bigint NOT NULL
);

CREATE FUNCTION account_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO account_counts (state, plan, sub_status, n) VALUES (OLD.state, OLD.plan, OLD.sub_status, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO account_counts (state, plan, sub_status, n) VALUES (NEW.state, NEW.plan, NEW.sub_status, 1);
    END IF;
    RETURN NULL;
END
$$;

-- The triggers first: creating them locks accounts against writes until this
-- migration commits, so the count below misses no write and counts none twice.
CREATE TRIGGER account_counts_insert_delete AFTER INSERT OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION account_counts_track();
CREATE TRIGGER account_counts_update AFTER UPDATE ON accounts
    FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.plan IS DISTINCT FROM NEW.plan
          OR OLD.sub_status IS DISTINCT FROM NEW.sub_status)
    EXECUTE FUNCTION account_counts_track();

INSERT INTO account_counts (state, plan, sub_status, n)
SELECT state, plan, sub_status, count(*) FROM accounts GROUP BY state, plan, sub_status;
