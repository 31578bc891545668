"""On PostgreSQL, the audit trail becomes a table partitioned by month (issue 16).

Rows, ids (and the identity's sequence), the foreign keys, the indexes and the
append-only trigger are kept; `acces.partitions` says what the (chain, seq)
uniqueness becomes. SQLite keeps its plain table. The model is unchanged.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    from acces import partitions

    if schema_editor.connection.vendor == "postgresql":
        partitions.partition(schema_editor.connection, scheme="month")


def backwards(apps, schema_editor):
    from acces import partitions

    partitions.unpartition(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("acces", "0009_daily_access")]

    operations = [migrations.RunPython(forwards, backwards)]
