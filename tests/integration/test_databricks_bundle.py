"""``databricks.yml`` is a valid bundle and deploys what ``app.yaml`` describes.

Valid: against the bundle JSON schema the Databricks CLI publishes (vendored in tests/support/bundle_schema with its
source, version and license; the CLI itself cannot be installed here), plus the checks ``bundle validate`` makes that
the schema cannot express: every ``${var.…}`` is defined, every ``${resources.…}`` names a resource of the bundle,
the paths exist, dashboard permission levels are a dashboard's. Each check is shown to fail on a broken copy.

In step with ``app.yaml``: the same command, the same env entries in the same order, the same resource keys.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "support" / "bundle_schema" / "jsonschema.json"
BUNDLE = yaml.safe_load((ROOT / "databricks.yml").read_text(encoding="utf-8"))
APP_YAML = yaml.safe_load((ROOT / "app.yaml").read_text(encoding="utf-8"))
REFERENCE_RE = re.compile(r"\$\{([^}]+)\}")
DASHBOARD_LEVELS = {"CAN_READ", "CAN_RUN", "CAN_EDIT", "CAN_MANAGE"}  # what the permissions API takes for a dashboard
# Fields a resource gets from the workspace, which ${resources.<type>.<key>.<field>} may name besides its own.
COMPUTED_FIELDS = {
    "apps": {"id", "url", "service_principal_client_id", "service_principal_id", "service_principal_name"},
    "dashboards": {"id", "dashboard_id", "path"},
}
# The env entries the bundle sets from its variables or resources instead of app.yaml's literal value.
FROM_THE_BUNDLE = {"DASHBOARD_ID": "${resources.dashboards.inventory.id}"}


@cache
def validator() -> jsonschema.protocols.Validator:
    text = SCHEMA.read_text(encoding="utf-8")
    # Python's re has no \p{…}: the same Unicode classes in its own spelling (letters+digits, then letters).
    text = text.replace(r"[\\p{L}\\p{N}]", r"[^\\W_]").replace(r"\\p{L}", r"[^\\W\\d_]")
    assert r"\\p{" not in text
    schema = json.loads(text)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema)


def schema_errors(bundle: dict[str, Any]) -> list[str]:
    """Every way ``bundle`` breaks the schema, each as ``path: message`` at the deepest place it breaks."""
    found = [leaf for error in validator().iter_errors(bundle) for leaf in leaves(error)]
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found)


def leaves(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """Inside a ``oneOf`` (every value may also be a ``${var…}`` string) the errors of the branches of the value's
    own kind, recursively: for an object, what is wrong inside it rather than 'is not of type string'."""
    if not error.context:
        return [error]
    branches: dict[Any, list[jsonschema.ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    kind_ok = [subs for subs in branches.values() if not any(sub.validator == "type" and not sub.path for sub in subs)]
    return [leaf for subs in kind_ok for sub in subs for leaf in leaves(sub)] or [error]


def strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from strings(value, f"{path}/{i}")
    elif isinstance(node, str):
        yield path, node


def reference_problems(bundle: dict[str, Any]) -> list[str]:
    """What ``bundle validate`` would refuse beyond the schema: unknown references, missing files, bad levels."""
    problems = []
    variables = bundle.get("variables", {})
    resources = bundle.get("resources", {})
    for path, text in strings(bundle):
        for ref in REFERENCE_RE.findall(text):
            head, *rest = ref.split(".")
            if head == "var" and rest[0] not in variables:
                problems.append(f"{path}: ${{{ref}}} is not a variable")
            elif head == "resources":
                kind, key, *field = rest
                known = resources.get(kind, {}).get(key)
                if known is None:
                    problems.append(f"{path}: ${{{ref}}} is not a resource of the bundle")
                elif field and field[0] not in known and field[0] not in COMPUTED_FIELDS.get(kind, set()):
                    problems.append(f"{path}: ${{{ref}}}: {kind} have no field {field[0]}")
    for target, spec in bundle.get("targets", {}).items():
        if (spec or {}).get("mode", "development") not in ("development", "production"):
            problems.append(f"targets/{target}: mode must be development or production")  # not in the schema
        for name in (spec or {}).get("variables", {}):
            if name not in variables:
                problems.append(f"targets/{target}/variables: {name} is not a variable")
    for key, app in resources.get("apps", {}).items():
        source = ROOT / app["source_code_path"]
        if not (source / "app.py").is_file() or not (source / "requirements.txt").is_file():
            problems.append(f"apps/{key}: source_code_path {app['source_code_path']} has no app.py/requirements.txt")
    for key, dashboard in resources.get("dashboards", {}).items():
        if not (ROOT / dashboard["file_path"]).is_file():
            problems.append(f"dashboards/{key}: no file {dashboard['file_path']}")
        for grant in dashboard.get("permissions", []):
            if grant["level"] not in DASHBOARD_LEVELS:
                problems.append(f"dashboards/{key}: {grant['level']} is not a dashboard permission")
    return problems


def the_app(bundle: dict[str, Any]) -> dict[str, Any]:
    (app,) = bundle["resources"]["apps"].values()
    return app


def agreement_problems(bundle: dict[str, Any], app_yaml: dict[str, Any]) -> list[str]:
    """Where the bundle's app config and ``app.yaml`` disagree (command, env, resource keys)."""
    problems = []
    app = the_app(bundle)
    config = app["config"]
    if [str(a) for a in config["command"]] != [str(a) for a in app_yaml["command"]]:
        problems.append(f"command: {config['command']} != app.yaml {app_yaml['command']}")
    ours = [(e["name"], e.get("value_from"), e.get("value")) for e in config["env"]]
    theirs = [(e["name"], e.get("valueFrom"), e.get("value")) for e in app_yaml["env"]]
    if [n for n, _, _ in ours] != [n for n, _, _ in theirs]:
        problems.append(f"env names: {[n for n, _, _ in ours]} != app.yaml {[n for n, _, _ in theirs]}")
    variables = bundle.get("variables", {})
    for (name, source, value), (_, yaml_source, yaml_value) in zip(ours, theirs, strict=False):
        if source != yaml_source:
            problems.append(f"env {name}: value_from {source!r} != app.yaml valueFrom {yaml_source!r}")
        elif name in FROM_THE_BUNDLE:
            if value != FROM_THE_BUNDLE[name]:
                problems.append(f"env {name}: {value!r}, expected {FROM_THE_BUNDLE[name]!r}")
        elif isinstance(value, str) and (match := re.fullmatch(r"\$\{var\.([\w-]+)\}", value)):
            default = variables.get(match.group(1), {}).get("default")
            if default != yaml_value:
                problems.append(
                    f"env {name}: ${{var.{match.group(1)}}} defaults to {default!r}, app.yaml has {yaml_value!r}"
                )
        elif value != yaml_value:
            problems.append(f"env {name}: {value!r} != app.yaml {yaml_value!r}")
    keys = {r["name"] for r in app.get("resources", [])}
    referenced = {e["value_from"] for e in config["env"] if e.get("value_from")}
    if not referenced <= keys:
        problems.append(f"value_from without a resource: {sorted(referenced - keys)}")
    if keys - referenced != {"sql-warehouse"}:
        problems.append(f"resources not used by the env (only sql-warehouse may be): {sorted(keys - referenced)}")
    return problems


# -- the bundle as shipped -------------------------------------------------------------------------------------------


def test_the_bundle_is_valid_against_the_cli_schema():
    assert schema_errors(BUNDLE) == []


def test_the_bundle_references_only_what_it_defines():
    assert reference_problems(BUNDLE) == []


def test_the_bundle_and_app_yaml_agree():
    assert agreement_problems(BUNDLE, APP_YAML) == []


def test_the_app_has_every_resource_with_its_permission():
    app = the_app(BUNDLE)
    by_key = {r["name"]: r for r in app["resources"]}
    assert by_key["postgres"]["postgres"] == {
        "branch": "${var.postgres_branch}",
        "database": "${var.postgres_database}",
        "permission": "CAN_CONNECT_AND_CREATE",
    }
    for key in ("cookie-secret", "session-secret"):
        assert by_key[key]["secret"] == {"scope": "${var.secret_scope}", "key": key, "permission": "READ"}
    assert by_key["sql-warehouse"]["sql_warehouse"] == {"id": "${var.warehouse_id}", "permission": "CAN_USE"}
    assert app["source_code_path"] == "./"
    assert "user_api_scopes" not in app  # on-behalf-of-user is off unless the deployer turns it on
    env = {e["name"]: e for e in app["config"]["env"]}
    assert env["INVENTORY_ON_BEHALF_OF_USER"]["value"] == "${var.on_behalf_of_user}"
    assert BUNDLE["variables"]["on_behalf_of_user"]["default"] == "false"


def test_the_dashboard_is_deployed_from_the_shipped_file_and_shared():
    dashboard = BUNDLE["resources"]["dashboards"]["inventory"]
    assert dashboard["file_path"] == "./inventory_panel/databricks/inventory.lvdash.json"
    assert dashboard["warehouse_id"] == "${var.warehouse_id}"
    assert dashboard["permissions"] == [
        {"level": "CAN_READ", "service_principal_name": "${resources.apps.inventory.service_principal_client_id}"},
        {"level": "CAN_READ", "group_name": "${var.users_group}"},
    ]
    # Deployed as is: no placeholders, and the tables it reads are the app's (dataset_catalog/_schema qualify them).
    definition = json.loads((ROOT / dashboard["file_path"]).read_text(encoding="utf-8"))
    sql = " ".join(line for ds in definition["datasets"] for line in ds["queryLines"])
    assert "${" not in sql
    table = {e["name"]: e.get("value") for e in the_app(BUNDLE)["config"]["env"]}["POSTGRES_TABLE"]
    assert set(re.findall(r"\bFROM (\S+)", sql)) == {table, f"{table}_movements"}
    assert (dashboard["dataset_catalog"], dashboard["dataset_schema"]) == ("${var.catalog}", "${var.postgres_schema}")


def test_the_provisioned_variant_in_the_comments_is_valid_too():
    """The commented Lakebase Provisioned resource, uncommented, passes the schema (and the on-behalf-of scopes)."""
    text = (ROOT / "databricks.yml").read_text(encoding="utf-8")
    block = re.search(r"\n( +)# - name: database\n((?:\1#   .*\n)+)", text)
    assert block is not None
    variant = yaml.safe_load(
        re.sub(r"^( +)# ?", r"\1", block.group(0).strip("\n"), flags=re.M).replace(
            "<instance name>", "inventory-instance"
        )
    )
    assert variant == [
        {
            "name": "database",
            "database": {
                "instance_name": "inventory-instance",
                "database_name": "databricks_postgres",
                "permission": "CAN_CONNECT_AND_CREATE",
            },
        }
    ]
    bundle = copy.deepcopy(BUNDLE)
    app = the_app(bundle)
    app["resources"] = [r for r in app["resources"] if r["name"] != "postgres"] + variant
    app["config"]["env"][0] = {"name": "LAKEBASE_INSTANCE_NAME", "value": "inventory-instance"}
    app["user_api_scopes"] = ["sql", "dashboards.genie"]
    assert schema_errors(bundle) == []


# -- the checks fail for a broken bundle ----------------------------------------------------------------------------


def _broken(change) -> dict[str, Any]:
    bundle = copy.deepcopy(BUNDLE)
    change(bundle)
    return bundle


def _resource(bundle: dict[str, Any], key: str) -> dict[str, Any]:
    return next(r for r in the_app(bundle)["resources"] if r["name"] == key)


def _env(bundle: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in the_app(bundle)["config"]["env"] if e["name"] == name)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (
            lambda b: _resource(b, "postgres")["postgres"].update(permission="CAN_MANAGE"),
            "resources/0/postgres/permission",
        ),
        (lambda b: _resource(b, "cookie-secret")["secret"].update(permission="CAN_READ"), "secret/permission"),
        (lambda b: _resource(b, "session-secret")["secret"].pop("key"), "resources/2/secret"),
        (
            lambda b: _resource(b, "sql-warehouse")["sql_warehouse"].update(permission="CAN_VIEW"),
            "sql_warehouse/permission",
        ),
        (lambda b: the_app(b).update(source_code_paht="./"), "resources/apps/inventory"),
        (lambda b: the_app(b)["config"]["env"][0].update(valueFrom="postgres"), "config/env/0"),
        (lambda b: the_app(b)["permissions"][0].update(level="CAN_READ"), "permissions/0/level"),
        (lambda b: b["resources"]["dashboards"]["inventory"].update(embed_credentials="yes"), "embed_credentials"),
        (lambda b: b["resources"]["dashboards"]["inventory"].update(warehouse=1), "dashboards/inventory"),
        (lambda b: b["targets"]["prod"]["workspace"].update(root_pth="/Shared"), "targets/prod/workspace"),
    ],
)
def test_the_schema_refuses_a_broken_bundle(change, where):
    errors = schema_errors(_broken(change))
    assert errors and any(where in e for e in errors), errors


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda b: the_app(b).update(name="${var.app_nmae}"), "${var.app_nmae} is not a variable"),
        (
            lambda b: b["resources"]["dashboards"]["inventory"]["permissions"][0].update(
                service_principal_name="${resources.apps.inventroy.service_principal_client_id}"
            ),
            "not a resource",
        ),
        (lambda b: b["resources"]["dashboards"]["inventory"].update(file_path="./missing.lvdash.json"), "no file"),
        (
            lambda b: b["resources"]["dashboards"]["inventory"]["permissions"][1].update(level="CAN_USE"),
            "not a dashboard permission",
        ),
        (lambda b: b["targets"]["dev"]["variables"].update(ap_name="x"), "ap_name is not a variable"),
        (lambda b: b["targets"]["prod"].update(mode="staging"), "mode must be development or production"),
    ],
)
def test_the_reference_checks_refuse_a_broken_bundle(change, problem):
    problems = reference_problems(_broken(change))
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda b: the_app(b)["config"]["command"].remove("signed"), "command"),
        (lambda b: the_app(b)["config"]["env"].pop(2), "env names"),
        (lambda b: _env(b, "PANEL_COOKIE_SECRET").update(value_from="cookie"), "valueFrom"),
        (lambda b: _env(b, "INVENTORY_MAX_UPLOAD_MB").update(value="32"), "INVENTORY_MAX_UPLOAD_MB"),
        (lambda b: b["variables"]["default_role"].update(default="editor"), "INVENTORY_DEFAULT_ROLE"),
        (lambda b: _env(b, "DASHBOARD_ID").update(value=""), "DASHBOARD_ID"),
        (lambda b: the_app(b)["resources"].remove(_resource(b, "session-secret")), "value_from without a resource"),
        (lambda b: _resource(b, "sql-warehouse").update(name="warehouse"), "resources not used"),
    ],
)
def test_the_agreement_check_refuses_a_bundle_out_of_step_with_app_yaml(change, problem):
    problems = agreement_problems(_broken(change), APP_YAML)
    assert any(problem in p for p in problems), problems


# -- the walkthrough in docs/databricks.md uses this bundle as it is -------------------------------------------------


def walkthrough() -> str:
    text = (ROOT / "docs" / "databricks.md").read_text(encoding="utf-8")
    return text.split("## Deploy with the bundle (from an empty workspace)", 1)[1].split("\n## ", 1)[0]


def commands(prefix: str) -> list[list[str]]:
    """The commands of the walkthrough's code blocks that start with ``prefix`` (continued lines joined)."""
    blocks = re.findall(r"```bash\n(.*?)```", walkthrough(), flags=re.S)
    found = []
    for line in "\n".join(blocks).splitlines():
        line = line.split("  #", 1)[0].strip()
        if line.startswith("export ") and "$(" in line:
            line = line.split("$(", 1)[1].split(" |", 1)[0]  # the command whose output is exported
        if line.startswith(prefix):
            found.append(line.split())
    return found


def test_the_walkthrough_sets_every_variable_the_bundle_needs():
    exported = set(re.findall(r"export BUNDLE_VAR_(\w+)=", walkthrough()))
    assert exported <= set(BUNDLE["variables"])  # no misspelt variable
    required = {name for name, spec in BUNDLE["variables"].items() if "default" not in spec}
    assert required == {"postgres_branch", "postgres_database", "warehouse_id"}
    assert required <= exported


def test_the_walkthrough_names_what_the_bundle_defines():
    targets = set(BUNDLE["targets"])
    bundle_commands = commands("databricks bundle")
    assert {c[2] for c in bundle_commands} >= {"validate", "deploy", "run", "summary"}
    for command in bundle_commands:
        assert command[command.index("-t") + 1] in targets, command
        if command[2] == "run":
            assert command[3] in BUNDLE["resources"]["apps"], command
    dev_app = BUNDLE["targets"]["dev"]["variables"]["app_name"]
    assert commands("databricks apps get") == [["databricks", "apps", "get", dev_app, "-o", "json"]]
    secrets = [c for c in commands("databricks secrets put-secret")]
    scope = BUNDLE["variables"]["secret_scope"]["default"]
    keys = {r["secret"]["key"] for r in the_app(BUNDLE)["resources"] if "secret" in r}
    assert {(c[3], c[4]) for c in secrets} == {(scope, key) for key in keys}
    assert commands("databricks secrets create-scope") == [["databricks", "secrets", "create-scope", scope]]


def test_the_walkthrough_s_inventory_panel_commands_parse():
    from inventory_panel import cli

    found = commands("inventory-panel")
    assert [c[1:3] for c in found] == [["databricks", "setup"], ["databricks", "doctor"]]
    dev_app = BUNDLE["targets"]["dev"]["variables"]["app_name"]
    for command in found:
        args = cli._parser().parse_args(command[1:])
        assert args.app == dev_app
        assert "--warehouse-id" not in command  # the bundle, not setup, deploys the dashboard


def test_python_re_still_lacks_unicode_property_classes():
    """The rewrite of the schema's ``\\p{L}``/``\\p{N}`` (docs/workarounds.md) is needed while this holds."""
    with pytest.raises(re.error, match=r"bad escape \\p"):
        re.compile(r"\p{L}")
    raw = json.loads(SCHEMA.read_text(encoding="utf-8"))
    with pytest.raises(re.error):
        list(jsonschema.Draft202012Validator(raw).iter_errors(BUNDLE))
