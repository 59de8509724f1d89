"""Workspace permissions the deployed app needs, read and (in setup) granted through the Permissions API.

- ``CAN_USE`` for the app's service principal on the Lakebase project (``database-projects/<project>``) or instance
  (``database-instances/<name>``): without it the workspace refuses the app a Lakebase credential. Adding the
  database resource to the app grants it too.
- ``CAN_READ`` on the dashboard (``dashboards/<id>``) for the app's service principal (it checks whether the
  dashboard is published) and for the group of the app's users: an embedded dashboard shows only to people
  explicitly granted access.
- The AI/BI embedding policy of the workspace (``w.settings.aibi_dashboard_embedding_access_policy`` and
  ``…_approved_domains``) must allow the app's domain, or browsers refuse the iframe.

Each ``*_problem`` function returns None when all is well, else one sentence saying what to fix; each ``ensure_*``
sends a write only when something is missing (a second setup changes nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service import iam
from databricks.sdk.service import settings as st

DASHBOARD_LEVELS = ("CAN_READ", "CAN_RUN", "CAN_EDIT", "CAN_MANAGE")  # lowest first
DATABASE_LEVELS = ("CAN_USE", "CAN_MANAGE")
DOMAINS_FIELD = "aibi_dashboard_embedding_approved_domains"
DEFAULT_POLICY = "ALLOW_APPROVED_DOMAINS"


@dataclass(frozen=True)
class Principal:
    """Who gets a permission: a service principal (by application/client ID) or a group (by name)."""

    kind: str  # "service_principal_name" or "group_name", as the Permissions API names them
    name: str

    @classmethod
    def service_principal(cls, client_id: str) -> Principal:
        return cls("service_principal_name", client_id)

    @classmethod
    def group(cls, name: str) -> Principal:
        return cls("group_name", name)

    def __str__(self) -> str:
        return f"{'group' if self.kind == 'group_name' else 'service principal'} {self.name}"

    def request(self, level: str) -> iam.AccessControlRequest:
        return iam.AccessControlRequest(permission_level=iam.PermissionLevel(level), **{self.kind: self.name})


def _level(acl: iam.ObjectPermissions, who: Principal, levels: tuple[str, ...]) -> int:
    """The rank of ``who``'s highest direct or inherited permission in ``levels``; -1 for none."""
    best = -1
    for entry in acl.access_control_list or []:
        if getattr(entry, who.kind, None) != who.name:
            continue
        for permission in entry.all_permissions or []:
            level = permission.permission_level.value if permission.permission_level else ""
            if level in levels:
                best = max(best, levels.index(level))
    return best


def missing_permissions(
    w: WorkspaceClient, object_type: str, object_id: str, who: list[Principal], level: str, levels: tuple[str, ...]
) -> list[Principal]:
    """Those of ``who`` without at least ``level`` on the object."""
    acl = w.permissions.get(object_type, object_id)
    return [p for p in who if _level(acl, p, levels) < levels.index(level)]


def grant(
    w: WorkspaceClient, object_type: str, object_id: str, who: list[Principal], level: str, levels: tuple[str, ...]
) -> list[Principal]:
    """Give ``level`` to those of ``who`` who lack it (``PATCH`` adds, never removes); returns them."""
    missing = missing_permissions(w, object_type, object_id, who, level, levels)
    if missing:
        w.permissions.update(object_type, object_id, access_control_list=[p.request(level) for p in missing])
    return missing


def database_object(endpoint: str | None, instance_name: str | None) -> tuple[str, str]:
    """The Permissions API object of a Lakebase database: its Autoscaling project or Provisioned instance."""
    if endpoint:
        return "database-projects", endpoint.split("/")[1]
    assert instance_name
    return "database-instances", instance_name


# -- embedding ----------------------------------------------------------------------------------------------------


def app_domain(url: str | None) -> str | None:
    """The host of an app URL (``https://inventory-123.aws.databricksapps.com`` -> the host)."""
    if not url:
        return None
    host = urlsplit(url if "://" in url else f"https://{url}").hostname
    return host or None


def domain_allowed(domain: str, approved: list[str]) -> bool:
    """Whether ``domain`` is in ``approved``, an entry ``*.example.com`` covering every subdomain of example.com."""
    domain = domain.lower()
    for entry in (e.strip().lower() for e in approved):
        entry = (app_domain(entry) or "") if "://" in entry else entry
        if not entry:
            continue
        if entry == domain or (entry.startswith("*.") and domain.endswith(entry[1:])):
            return True
    return False


@dataclass(frozen=True)
class Embedding:
    """The workspace's embedding policy and approved domains, read once."""

    policy: str
    domains: list[str]
    etag: str | None

    @classmethod
    def read(cls, w: WorkspaceClient) -> Embedding:
        # A setting never changed in the workspace may answer "not found": then it has its default value, the
        # policy "Allow approved domains" with no domain approved.
        try:
            policy = w.settings.aibi_dashboard_embedding_access_policy.get()
            kind = policy.aibi_dashboard_embedding_access_policy.access_policy_type
            policy_name = kind.value if kind else DEFAULT_POLICY
        except NotFound:
            policy_name = DEFAULT_POLICY
        try:
            domains = w.settings.aibi_dashboard_embedding_approved_domains.get()
        except NotFound:
            return cls(policy_name, [], None)
        listed = domains.aibi_dashboard_embedding_approved_domains
        return cls(policy_name, list(listed.approved_domains or []) if listed else [], domains.etag)

    def problem(self, domain: str) -> str | None:
        if self.policy == "ALLOW_ALL_DOMAINS":
            return None
        if self.policy == "DENY_ALL_DOMAINS":
            return (
                "the workspace denies embedding dashboards anywhere: a workspace admin sets Settings → Security → "
                f"Embed dashboards to 'Allow approved domains' and adds {domain}"
            )
        if domain_allowed(domain, self.domains):
            return None
        return (
            f"{domain} is not an approved embedding domain: a workspace admin adds it (Settings → Security → "
            "Embed dashboards), or run `inventory-panel databricks setup --approve-embedding-domain`"
        )


def approve_domain(w: WorkspaceClient, embedding: Embedding, domain: str) -> None:
    """Add ``domain`` to the approved embedding domains (a workspace admin's call; keeps the others)."""
    setting = st.AibiDashboardEmbeddingApprovedDomainsSetting(
        aibi_dashboard_embedding_approved_domains=st.AibiDashboardEmbeddingApprovedDomains(
            approved_domains=[*embedding.domains, domain]
        ),
        etag=embedding.etag,
    )
    w.settings.aibi_dashboard_embedding_approved_domains.update(
        allow_missing=True, setting=setting, field_mask=f"{DOMAINS_FIELD}.approved_domains"
    )
