#!/bin/bash
# A small steady workload so pg_stat_statements has queries for db-slowquery: scans of the
# orders table (no index on customer) and one that sleeps.
set -u
export PGPASSWORD
PGPASSWORD=$(cat /run/secrets/postgres-password)
until psql -h postgres -U postgres -d shop -c 'SELECT 1' >/dev/null 2>&1; do sleep 2; done
echo "workload: connected to postgres"
while true; do
    customer=$((RANDOM % 100))
    psql -h postgres -U postgres -d shop -q >/dev/null <<SQL || echo "workload: a query failed"
SELECT item, count(*), sum(price) FROM orders WHERE customer = $customer GROUP BY item;
SELECT * FROM orders WHERE item LIKE '%cam%' ORDER BY price DESC LIMIT 10;
SELECT pg_sleep(0.05);
SQL
    sleep 5
done
