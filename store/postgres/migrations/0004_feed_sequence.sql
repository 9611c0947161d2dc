-- The feed's numbers come from a sequence taken in each transaction, no
-- longer from the one-row feed_counter whose row lock made every writer's
-- COMMIT (its WAL flush) wait for the previous one. Numbers may now commit
-- out of order and a rolled-back one leaves a hole: readers only read up to
-- a horizon below which no number can still commit (feed.go). Stop every
-- instance of an older version before starting this one: they would still
-- write feed_counter's numbers.
CREATE SEQUENCE changes_seq OWNED BY changes.seq;
SELECT setval('changes_seq', greatest(last, 1), last > 0) FROM feed_counter;
ALTER TABLE changes ALTER COLUMN seq SET DEFAULT nextval('changes_seq');
DROP TABLE feed_counter;
