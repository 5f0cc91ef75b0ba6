#!/bin/bash
# Run once by the postgres image at first start: pg_stat_statements for db-slowquery, its role
# (the password is taken from the connection string db-slowquery reads, so it is written once),
# and a table for the workload.
set -euo pipefail
password=$(sed -E 's|^[^:]+://[^:]+:([^@]+)@.*$|\1|' /run/secrets/postgres-dsn)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v password="$password" <<'SQL'
CREATE EXTENSION pg_stat_statements;
CREATE ROLE db_slowquery LOGIN PASSWORD :'password' IN ROLE pg_read_all_stats;
CREATE TABLE orders (
  id serial PRIMARY KEY,
  customer int NOT NULL,
  item text NOT NULL,
  price numeric(10, 2) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO orders (customer, item, price)
  SELECT n % 100, (ARRAY['headset', 'webcam', 'microphone'])[1 + n % 3], 10 + n % 120
  FROM generate_series(1, 200000) AS n;
SQL
