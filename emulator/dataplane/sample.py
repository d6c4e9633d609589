"""The sample data behind each seeded flexible server: databases, tables, rows, a role and extensions.

All servers share one PostgreSQL cluster; a server's database ``app`` is the cluster database
``<server>__app`` and its role ``app_rw`` is the cluster role ``<server>__app_rw``. Row counts differ per
server (derived from its name) so a restore drill can tell servers apart.
"""

import zlib

DATABASES = ("app", "audit")
SEPARATOR = "__"


def cluster_database(server, database):
    return f"{server}{SEPARATOR}{database}"


def cluster_role(server):
    return f"{server}{SEPARATOR}app_rw"


def _quote(name):
    return '"' + name.replace('"', '""') + '"'


def row_counts(server):
    """{database: {table: rows}} the sample holds for a server (the seeding SQL inserts exactly these)."""
    base = zlib.crc32(server.encode()) % 7
    return {"app": {"public.customers": 5 + base, "public.orders": 12 + 2 * base},
            "audit": {"public.events": 20 + base}}


def database_files(prefix, databases=DATABASES):
    """The file names a restore as files writes for these databases (Azure's names)."""
    names = [f"{prefix}_database_{database}.sql" for database in databases]
    return names + [f"{prefix}_roles.sql", f"{prefix}_schema.sql", f"{prefix}_tablespace.sql"]


def seed_sql(server, extensions):
    """One psql script that creates the server's role and databases and fills them (uses ``\\connect``)."""
    role = _quote(cluster_role(server))
    counts = row_counts(server)
    app = _quote(cluster_database(server, "app"))
    audit = _quote(cluster_database(server, "audit"))
    email_type = "citext" if "citext" in extensions else "text"
    lines = [
        f"CREATE ROLE {role} LOGIN PASSWORD 'emulator-only';",
        f"CREATE DATABASE {app} OWNER {role};",
        f"CREATE DATABASE {audit} OWNER {role};",
        f"\\connect {app}",
        *[f"CREATE EXTENSION IF NOT EXISTS {name};" for name in extensions],
        f"SET ROLE {role};",
        f"CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email {email_type} UNIQUE);",
        "CREATE TABLE orders (id serial PRIMARY KEY, customer_id int REFERENCES customers(id), "
        "amount numeric(10,2) NOT NULL, created_at timestamptz NOT NULL DEFAULT now());",
        f"INSERT INTO customers (name, email) SELECT 'customer ' || n, 'c' || n || '@example.com' "
        f"FROM generate_series(1, {counts['app']['public.customers']}) AS n;",
        f"INSERT INTO orders (customer_id, amount) SELECT 1 + n % {counts['app']['public.customers']}, n * 1.5 "
        f"FROM generate_series(1, {counts['app']['public.orders']}) AS n;",
        "CREATE VIEW order_totals AS SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id;",
        f"\\connect {audit}",
        f"SET ROLE {role};",
        "CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), payload jsonb);",
        f"INSERT INTO events (payload) SELECT jsonb_build_object('n', n) "
        f"FROM generate_series(1, {counts['audit']['public.events']}) AS n;",
    ]
    return "\n".join(lines) + "\n"
