"""On PostgreSQL the database itself refuses UPDATE and DELETE on the audit trail.

Only a superuser disabling the trigger can change a row, and then
`verify_audit_trail` finds the broken hash. (TRUNCATE, which needs the table's
owner, is left to maintenance and to the test runner's flush.)
"""

from django.db import migrations

TABLES = ["acces_auditevent", "acces_auditseal"]

CREATE = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only (%% on %%)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_append_only();"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
    schema_editor.execute("DROP FUNCTION IF EXISTS audit_append_only();")


class Migration(migrations.Migration):
    dependencies = [("acces", "0002_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
