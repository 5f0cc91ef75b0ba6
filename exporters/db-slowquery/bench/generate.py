#!/usr/bin/env python3
"""Writes a seeded synthetic MariaDB 10.11 slow log of at least the given size (MB) to stdout.

The statements cover what fingerprinting must get right: literals of every kind, IN lists and
multi-row VALUES of varying length, comments, LIMIT forms, ORDER BY ASC, UNION, NULL, booleans,
numbers inside identifiers, and many distinct tables so there are thousands of classes.
"""
import random
import sys

rng = random.Random(20261203)
target = int(float(sys.argv[1]) * 1024 * 1024) if len(sys.argv) > 1 else 200 * 1024 * 1024
out = sys.stdout
TABLES = [f"orders_{y}" for y in range(2020, 2026)] + [
    "users", "items", "carts", "payments", "sessions", "audit_log"]
WORDS = ["alpha", "beta", "it''s", "x\\'y", "quote\\\"d", "a b c", "caf\u00e9", "100%", "semi;colon"]


def lit():
    r = rng.random()
    if r < 0.4:
        return str(rng.randint(-1000, 100000))
    if r < 0.7:
        return "'" + rng.choice(WORDS) + str(rng.randint(0, 99)) + "'"
    if r < 0.8:
        return f"{rng.uniform(-100, 100):.3f}"
    if r < 0.85:
        return rng.choice(["NULL", "TRUE", "false"])
    if r < 0.9:
        # Lowercase hex is absorbed by the number rule; one uppercase constant keeps the quirk.
        return rng.choice([f"0x{rng.randint(0, 1 << 20):x}", "0xFF"])
    return f"'2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} 10:00:00'"


def statement(kind, table, col):
    if kind == 0:
        return f"SELECT * FROM {table} WHERE id = {lit()}"
    if kind == 1:
        n = rng.randint(1, 12)
        return f"SELECT id, {col} FROM {table} WHERE id IN ({', '.join(lit() for _ in range(n))}) ORDER BY id ASC"
    if kind == 2:
        rows = ", ".join(f"({lit()}, {lit()}, {lit()})" for _ in range(rng.randint(1, 6)))
        return f"INSERT INTO {table} (a, b, {col}) VALUES {rows}"
    if kind == 3:
        return f"UPDATE {table} SET {col} = {col} + {rng.randint(1, 9)}, updated = NOW() WHERE id = {lit()}"
    if kind == 4:
        return f"/* app:worker{rng.randint(1, 9)} */ SELECT COUNT(*) FROM {table} WHERE {col} > {lit()} -- page\n"
    if kind == 5:
        return f"SELECT {col} FROM {table} WHERE a IS NULL AND b = {lit()} LIMIT {rng.randint(0, 50)}, {rng.randint(1, 50)}"
    if kind == 6:
        return f"SELECT a FROM {table} WHERE a = {lit()} UNION ALL SELECT a FROM {table} WHERE a = {lit()}"
    if kind == 7:
        return f"DELETE FROM {table} WHERE created < {lit()} AND flag = {rng.choice(['TRUE', 'FALSE'])}"
    if kind == 8:
        return f"SELECT u.id, o.total FROM users u JOIN {table} o ON o.user_id = u.id WHERE u.name = {lit()}\nORDER BY o.total DESC, u.id ASC LIMIT {rng.randint(1, 100)} OFFSET {rng.randint(0, 9)}"
    if kind == 9:
        return f"REPLACE INTO {table} VALUES ({lit()}, {lit()})"
    return f"CALL proc_{table}({lit()}, {lit()})"


written = 0
ts = 1796300000
thread = 5
schema = "shop"
out.write("mariadbd, Version: 10.11.19-MariaDB-0+deb12u1-log (Debian 12). started with:\n"
          "Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\nTime\t\t    Id Command\tArgument\n")
while written < target:
    table = rng.choice(TABLES)
    col = rng.choice(["name", "email", "total"])
    stmt = statement(rng.randint(0, 10), table, col)
    lines = []
    if rng.random() < 0.3:
        ts += 1
        t = ts - 946684800
        lines.append(f"# Time: 26{rng.randint(1, 12):02d}{rng.randint(1, 28):02d} {rng.randint(0, 23):2d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}")
    lines.append(f"# User@Host: app[app] @ localhost []")
    lines.append(f"# Thread_id: {thread}  Schema: {schema}  QC_hit: No")
    qt = rng.expovariate(20)
    lines.append(f"# Query_time: {qt:.6f}  Lock_time: {qt / 10:.6f}  Rows_sent: {rng.randint(0, 500)}  Rows_examined: {rng.randint(0, 50000)}")
    lines.append(f"# Rows_affected: {rng.randint(0, 5)}  Bytes_sent: {rng.randint(11, 9000)}")
    if rng.random() < 0.01:
        schema = rng.choice(["shop", "billing", "crm"])
        lines.append(f"use `{schema}`;")
    lines.append(f"SET timestamp={ts};")
    lines.append(stmt + ";")
    text = "\n".join(lines) + "\n"
    out.write(text)
    written += len(text.encode())
