"""Roles and their permissions, and how a user's role is resolved from the settings (no database)."""

import pytest

from inventory_panel.auth import ACTION_WORDS, PERMISSIONS, User, make_user, resolve_role
from inventory_panel.errors import PermissionDeniedError
from inventory_panel.settings import load_settings

READS = {"read", "export"}
EDITS = {"add", "edit", "adjust", "import"}
ADMIN_ONLY = {"delete", "audit", "settings"}


def test_each_role_has_exactly_the_issue_permissions():
    assert PERMISSIONS["viewer"] == READS
    assert PERMISSIONS["editor"] == READS | EDITS
    assert PERMISSIONS["admin"] == READS | EDITS | ADMIN_ONLY


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
@pytest.mark.parametrize("action", sorted(READS | EDITS | ADMIN_ONLY))
def test_user_can_matches_the_matrix(role, action):
    expected = action in READS or (action in EDITS and role != "viewer") or (action in ADMIN_ONLY and role == "admin")
    assert User("u@example.com", role).can(action) is expected


def test_unknown_role_and_unknown_action_allow_nothing():
    assert not User("u", "superuser").can("read")
    assert not User("u", "admin").can("drop_database")


def test_every_action_has_words_for_the_denial_message():
    assert set(ACTION_WORDS) == READS | EDITS | ADMIN_ONLY
    assert str(PermissionDeniedError("ana@example.com", "viewer", ACTION_WORDS["delete"])) == (
        "ana@example.com (viewer) may not delete items. Ask an administrator for a role that allows it."
    )


def test_listed_admins_and_editors_match_case_insensitively():
    settings = load_settings(
        {"INVENTORY_ADMINS": " Boss@Example.com ,root@example.com", "INVENTORY_EDITORS": "Ed@example.com"}
    )
    assert resolve_role("boss@example.com", settings, local=False) == "admin"
    assert resolve_role("ROOT@example.com ", settings, local=False) == "admin"
    assert resolve_role("ed@EXAMPLE.com", settings, local=False) == "editor"
    assert resolve_role("stranger@example.com", settings, local=False) == "viewer"


def test_admin_list_wins_over_editor_list():
    settings = load_settings({"INVENTORY_ADMINS": "a@x.io", "INVENTORY_EDITORS": "a@x.io"})
    assert resolve_role("a@x.io", settings, local=False) == "admin"


def test_unknown_user_of_a_deployed_app_is_a_viewer_but_the_local_user_is_admin():
    settings = load_settings({})
    assert make_user("someone@example.com", settings, source="databricks").role == "viewer"
    assert make_user("someone@example.com", settings, source="panel").role == "viewer"
    assert make_user("me", settings, source="local").role == "admin"
    assert make_user("me", settings, source="notebook").role == "admin"


def test_default_role_applies_to_unlisted_users_everywhere():
    settings = load_settings({"INVENTORY_DEFAULT_ROLE": "editor", "INVENTORY_ADMINS": "boss@example.com"})
    assert make_user("someone@example.com", settings, source="databricks").role == "editor"
    assert make_user("me", settings, source="local").role == "editor"
    assert make_user("boss@example.com", settings, source="local").role == "admin"


def test_a_local_identity_inside_a_databricks_app_is_not_promoted_to_admin():
    # If the Apps headers are missing, the entry point falls back to a local identity; that must stay a viewer.
    settings = load_settings({"DATABRICKS_APP_NAME": "inventory"})
    assert make_user(None, settings, source="local").role == "viewer"
    assert make_user("me", settings, source="notebook").role == "viewer"


def test_local_user_name_comes_from_inventory_user():
    user = make_user(None, load_settings({"INVENTORY_USER": "ana@example.com"}))
    assert user == User("ana@example.com", "admin", "local")


def test_an_explicit_role_must_be_a_real_role():
    settings = load_settings({})
    assert make_user("u", settings, role="viewer").role == "viewer"
    with pytest.raises(ValueError, match="unknown role 'root'"):
        make_user("u", settings, role="root")
