-- The sign-in throttle shared by replicas (see auth::LoginLimiter). Keys are SHA-256 hashes:
-- the emails and addresses that were tried are not stored.
CREATE TABLE signin_pairs (
    pair            bytea PRIMARY KEY CHECK (length(pair) = 32),
    failures        integer NOT NULL CHECK (failures >= 0),
    locked_until_ms bigint,
    updated_ms      bigint NOT NULL
);
CREATE TABLE signin_budgets (
    source  bytea PRIMARY KEY CHECK (length(source) = 32),
    tokens  double precision NOT NULL,
    at_ms   bigint NOT NULL
);
