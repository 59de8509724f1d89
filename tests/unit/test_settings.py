"""Configuration resolution (README, Configuration) and one-line errors for bad settings."""

import pytest

from inventory_panel.errors import ConfigurationError
from inventory_panel.settings import load_settings
from inventory_panel.storage.engines import create_database


def test_defaults_pick_sqlite_in_the_working_directory():
    s = load_settings({})
    assert s.kind == "sqlite" and s.sqlite_path == "./inventory.db"
    assert (s.schema, s.table, s.max_upload_mb) == ("inventory_app", "inventory_items", 16)


def test_database_url_wins_over_pghost():
    s = load_settings({"INVENTORY_DATABASE_URL": "sqlite:///x.db", "PGHOST": "h", "PGUSER": "u"})
    assert s.kind == "url" and s.postgres is None


def test_pghost_reads_libpq_variables_with_secure_defaults():
    s = load_settings(
        {
            "PGHOST": "instance.database.cloud.databricks.com",
            "PGUSER": "app@x",
            "PGDATABASE": "db",
            "PGENDPOINT": "projects/p/branches/b/endpoints/e",
        }
    )
    assert s.kind == "postgres"
    assert s.postgres.sslmode == "require" and s.postgres.port == 5432 and s.postgres.password is None
    assert s.postgres.endpoint == "projects/p/branches/b/endpoints/e"


def test_pghost_with_password_builds_a_plain_postgres_engine():
    s = load_settings(
        {"PGHOST": "127.0.0.1", "PGUSER": "u", "PGPASSWORD": "pw", "PGDATABASE": "d", "PGSSLMODE": "disable"}
    )
    db = create_database(s)
    assert db.dialect == "postgresql" and db.engine.url.password == "pw"
    assert "pw" not in db.label
    assert db.tables.schema == "inventory_app"


def test_sqlite_path_setting(tmp_path):
    db = create_database(load_settings({"INVENTORY_SQLITE_PATH": str(tmp_path / "inv.db")}))
    assert db.dialect == "sqlite" and str(tmp_path) in db.label


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"INVENTORY_MAX_UPLOAD_MB": "lots"}, "INVENTORY_MAX_UPLOAD_MB"),
        ({"INVENTORY_MAX_UPLOAD_MB": "0"}, "INVENTORY_MAX_UPLOAD_MB"),
        ({"POSTGRES_SCHEMA": "inv; drop table x"}, "POSTGRES_SCHEMA"),
        ({"POSTGRES_TABLE": "1abc"}, "POSTGRES_TABLE"),
        ({"PGHOST": "h", "PGPORT": "x", "PGUSER": "u"}, "PGPORT"),
        ({"PGHOST": "h"}, "PGUSER"),
        ({"INVENTORY_DEFAULT_ROLE": "boss"}, "INVENTORY_DEFAULT_ROLE"),
    ],
)
def test_bad_settings_fail_with_one_line_naming_the_variable(env, variable):
    with pytest.raises(ConfigurationError) as exc:
        load_settings(env)
    assert variable in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("url", ["bogus", "mysql://u@h/db", "://"])
def test_bad_database_url_is_one_clear_line(url):
    with pytest.raises(ConfigurationError) as exc:
        create_database(load_settings({"INVENTORY_DATABASE_URL": url}))
    assert "INVENTORY_DATABASE_URL" in str(exc.value) and "\n" not in str(exc.value)


def test_role_lists_are_case_insensitive():
    s = load_settings({"INVENTORY_ADMINS": "Ana@Example.com, bo@example.com", "INVENTORY_EDITORS": "cy@example.com"})
    assert s.admins == {"ana@example.com", "bo@example.com"} and s.editors == {"cy@example.com"}
