"""The audit trail cannot be altered or deleted: database triggers refuse UPDATE and DELETE on the audit
table and on every row-history table (SQLite and PostgreSQL)."""

from django.db import migrations

TABLES = (
    "registry_auditevent",
    "registry_historicalpatient",
    "registry_historicalpatientidentity",
    "registry_historicalvisit",
    "registry_historicalclinicalevent",
    "registry_historicaltreatment",
)
MESSAGE = "audit records are append-only"


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for t in TABLES:
            for op in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {t}_no_{op.lower()} BEFORE {op} ON {t} "
                    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
                )
    elif vendor == "postgresql":
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION crpsmap_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$ LANGUAGE plpgsql;"
        )
        for t in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
                "FOR EACH ROW EXECUTE FUNCTION crpsmap_append_only();"
            )
            schema_editor.execute(
                f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} "
                "FOR EACH STATEMENT EXECUTE FUNCTION crpsmap_append_only();"
            )


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    for t in TABLES:
        if vendor == "sqlite":
            for op in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {t}_no_{op}")
        elif vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {t}_no_truncate ON {t}")


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
