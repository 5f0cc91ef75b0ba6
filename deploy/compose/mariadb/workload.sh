#!/bin/bash
# A small steady workload so the MariaDB slow log has entries for db-slowquery: a few queries
# that scan the orders table (no index on customer) and one that sleeps.
set -u
password=$(cat /run/secrets/mariadb-password)
until mariadb -h mariadb -u shop -p"$password" shop -e 'SELECT 1' >/dev/null 2>&1; do sleep 2; done
echo "workload: connected to mariadb"
while true; do
    customer=$((RANDOM % 100))
    mariadb -h mariadb -u shop -p"$password" shop >/dev/null <<SQL || echo "workload: a query failed"
SELECT item, COUNT(*), SUM(price) FROM orders WHERE customer = $customer GROUP BY item;
SELECT * FROM orders WHERE item LIKE '%cam%' ORDER BY price DESC LIMIT 10;
SELECT SLEEP(0.05);
SQL
    sleep 5
done
