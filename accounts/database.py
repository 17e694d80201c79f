"""The two PostgreSQL roles: the owner, which migrations run as, and the application's role.

The application role owns no table, so it can neither switch the audit log's triggers off nor
alter, empty or drop any table. After each ``manage.py migrate`` (run as the owner, see
``accounts/management/commands/migrate.py``) ``grant_application_role`` gives it exactly what the
application needs: read and write on every table of the schema, except that the audit log is
read and append only, and the migration history is read only.
"""

from django.db import connection as default_connection

AUDIT_TABLE = "accounts_auditevent"
READ_ONLY_TABLES = ("django_migrations",)


def grant_application_role(role, *, connection=None):
    """Grant ``role`` the application's privileges on the current database (PostgreSQL only)."""
    connection = connection or default_connection
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = quote(cursor.fetchone()[0])
        app = quote(role)
        cursor.execute(f"GRANT USAGE ON SCHEMA {schema} TO {app}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {app}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {app}")
        for table in (AUDIT_TABLE, *READ_ONLY_TABLES):
            cursor.execute(f"REVOKE ALL ON {quote(table)} FROM {app}")
        cursor.execute(f"GRANT SELECT, INSERT ON {quote(AUDIT_TABLE)} TO {app}")
        for table in READ_ONLY_TABLES:
            cursor.execute(f"GRANT SELECT ON {quote(table)} TO {app}")


def tables_owned_by_current_user(connection=None):
    """The tables of the current schema the connected role owns (empty for the application role).

    Owning includes being a member of the owning role, which is enough to alter the table:
    ``pg_has_role`` here is PostgreSQL's catalogue function about database roles, not a check of
    the application's roles (those are read in ``accounts.access`` only)."""
    connection = connection or default_connection
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND pg_has_role(current_user, tableowner, 'MEMBER') ORDER BY tablename"
        )
        return [row[0] for row in cursor.fetchall()]
