-- Metrics count accounts by state, plan and subscription status, and the
-- trials ending soon, on every scrape. The first three are columns computed
-- from data, indexed together so the GROUP BY reads the index only, never
-- the accounts' JSON. trial_end_ns (TrialEnd in Unix nanoseconds, only for
-- accounts trialing or canceling a trial) is written by the store beside
-- data: a text-to-time cast is not allowed in a generated column.
ALTER TABLE accounts
    ADD COLUMN state      text NOT NULL GENERATED ALWAYS AS (coalesce(data->>'State', '')) STORED,
    ADD COLUMN plan       text NOT NULL GENERATED ALWAYS AS (coalesce(data->>'Plan', '')) STORED,
    ADD COLUMN sub_status text NOT NULL GENERATED ALWAYS AS (coalesce(data->>'SubscriptionStatus', '')) STORED,
    ADD COLUMN trial_end_ns bigint;
CREATE INDEX accounts_counts ON accounts (state, plan, sub_status);

-- Accounts stored before this version (microseconds are enough here).
UPDATE accounts SET trial_end_ns = (extract(epoch FROM (data->>'TrialEnd')::timestamptz) * 1000000)::bigint * 1000
WHERE state IN ('trial', 'canceling') AND (data->>'TrialEnd')::timestamptz > '0001-01-02T00:00:00Z';
CREATE INDEX accounts_trial_end ON accounts (trial_end_ns) WHERE trial_end_ns IS NOT NULL;
