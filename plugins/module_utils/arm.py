# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Azure Resource Manager ids, resource types and API versions, declared once.

One parser (``parse_resource_id``), one builder (``resource_id``), one comparator (``same_id``), one region
normaliser (``canonical_region``) and one reader of the ARM error body an azure-core error carries. The datasource
types and their API versions live in the datasource records (``datasources/``), which add themselves to
``API_VERSIONS``.
"""

import re

from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError

VAULT_TYPE = "Microsoft.DataProtection/backupVaults"
USER_ASSIGNED_IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
STORAGE_ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts"
ROLE_ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"
DEPLOYMENT_TYPE = "Microsoft.Resources/deployments"
RESOURCE_GROUP = "resourceGroups"
SUBSCRIPTION = "subscriptions"
PERMISSIONS = "Microsoft.Authorization/permissions"

# The API version each generic ARM read uses (SDK clients carry their own). Keys are lower case.
API_VERSIONS = {
    VAULT_TYPE.lower(): "2026-06-01",
    USER_ASSIGNED_IDENTITY_TYPE.lower(): "2023-01-31",
    STORAGE_ACCOUNT_TYPE.lower(): "2023-05-01",
    ROLE_ASSIGNMENT_TYPE.lower(): "2022-04-01",
    PERMISSIONS.lower(): "2022-04-01",
    DEPLOYMENT_TYPE.lower(): "2022-09-01",
    RESOURCE_GROUP.lower(): "2021-04-01",
    SUBSCRIPTION.lower(): "2022-12-01",
}

MANAGEMENT_GROUP_PREFIX = "/providers/Microsoft.Management/managementGroups/"

# Azure's naming rule for each kind of name that goes into a request path: (pattern, the rule in words). Checked
# before any request, so a name such as "rg/../x" or "pol/../evil" never reaches a URL.
# Resource groups and vaults: the ARM naming rules and the vaultName pattern of the Data Protection spec
# (^[A-Za-z][-A-Za-z0-9]*[A-Za-z0-9]$, 2-50). Policies and backup instances: the spec sets no pattern; the service
# refuses URL-unsafe characters and names over 150 characters, the portal and the az CLI name them with letters,
# digits, hyphens and underscores; that common ground is the rule here.
NAME_RULES = {
    "resource group": (
        re.compile(r"^[A-Za-z0-9_().-]{0,89}[A-Za-z0-9_()-]$"),
        "1 to 90 characters: letters, digits, underscores, parentheses, hyphens and periods, not ending in a period",
    ),
    "Backup vault": (
        re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,48}[A-Za-z0-9]$"),
        "2 to 50 letters, digits and hyphens, starting with a letter and ending with a letter or digit",
    ),
}
NAME_RULES["backup policy"] = NAME_RULES["backup instance"] = (
    re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,149}$"),
    "1 to 150 letters, digits, hyphens and underscores, starting with a letter or digit",
)


def name_problem(kind, name, option):
    """Why ``name`` cannot be the name of a ``kind`` (a key of NAME_RULES) given in ``option``, or None."""
    pattern, rule = NAME_RULES[kind]
    if isinstance(name, str) and pattern.match(name):
        return None
    return "{0}: {1!r} is not a valid {2} name; Azure allows {3}.".format(option, name, kind, rule)


def check_name(kind, name, option):
    """Raise InputError naming ``option`` when ``name`` breaks the naming rule of ``kind``."""
    problem = name_problem(kind, name, option)
    if problem:
        raise InputError(problem, option=option)
    return name


def api_version(resource_type):
    """The API version of ``resource_type`` (``Namespace/type``, any case)."""
    return API_VERSIONS[resource_type.lower()]


def api_version_of(resource_id):
    """The API version of the resource an id names (by its type)."""
    return api_version(parse_resource_id(resource_id)["type"])


def register_type(resource_type, version):
    """Add a resource type (a datasource's) to the table."""
    API_VERSIONS[resource_type.lower()] = version


# ---------------------------------------------------------------------------------------------------------------
# Ids
# ---------------------------------------------------------------------------------------------------------------


def normalize_id(value):
    """A canonical form of an ARM id for comparison: lower case, no surrounding blanks or trailing slash."""
    if value is None:
        return None
    return str(value).strip().rstrip("/").lower()


def same_id(left, right):
    """Whether two ARM ids (or two ids of anything Azure echoes in any case) name the same thing."""
    return normalize_id(left) == normalize_id(right)


def last_segment(value):
    """The last path segment of an id (a resource's name), or None."""
    return str(value or "").rstrip("/").rsplit("/", 1)[-1] or None


def properties(body):
    """The ``properties`` of an ARM body (``{}`` when there are none)."""
    return (body or {}).get("properties") or {}


def canonical_region(value):
    """``East US`` and ``eastus`` are the same region: lowercase, without spaces (None when empty)."""
    return str(value or "").replace(" ", "").lower() or None


def resource_id(subscription_id, resource_group, resource_type, name, *children):
    """``/subscriptions/../resourceGroups/../providers/<type>/<name>[/<child type>/<child name>...]``."""
    text = "/subscriptions/{0}/resourceGroups/{1}/providers/{2}/{3}".format(
        subscription_id, resource_group, resource_type, name)
    for index in range(0, len(children), 2):
        text += "/{0}/{1}".format(children[index], children[index + 1])
    return text


def _segments(value):
    if not isinstance(value, str):
        raise ValueError(f"expected an ARM id string, got {value!r}")
    stripped = value.strip().strip("/")
    if not stripped:
        return []
    segments = stripped.split("/")
    if any(not s.strip() for s in segments):
        raise ValueError(f"{value!r} has an empty path segment")
    return segments


def parse_resource_id(value):
    """Split an ARM id (any case, trailing slashes allowed) into its parts.

    Returns a dict with ``kind`` (``root``, ``management_group``, ``subscription``, ``resource_group`` or
    ``resource``), ``subscription_id``, ``resource_group``, ``namespace`` (the provider), ``types`` and ``names``
    (one per level, parent first), ``type`` (``Namespace/type[/child type]``), ``name`` (the last name),
    ``management_group`` and ``id`` (the id with canonical keyword case and no trailing slash).
    Raises ``ValueError`` for anything else, extension-resource ids included.
    """
    segs = _segments(value)
    parts = {
        "kind": None,
        "subscription_id": None,
        "resource_group": None,
        "namespace": None,
        "types": [],
        "names": [],
        "type": None,
        "name": None,
        "management_group": None,
        "id": None,
    }
    if not segs:
        parts.update(kind="root", id="/")
        return parts
    lowered = [s.lower() for s in segs]
    if lowered[0] == "providers":
        if len(segs) == 4 and lowered[1] == "microsoft.management" and lowered[2] == "managementgroups":
            parts.update(
                kind="management_group", management_group=segs[3], name=segs[3], id=MANAGEMENT_GROUP_PREFIX + segs[3]
            )
            return parts
        raise ValueError(f"{value!r} is not a subscription, resource group, resource or management group id")
    if lowered[0] != "subscriptions" or len(segs) < 2:
        raise ValueError(f"{value!r} does not start with /subscriptions/<subscription id>")
    parts["subscription_id"] = segs[1]
    prefix = "/subscriptions/" + segs[1]
    if len(segs) == 2:
        parts.update(kind="subscription", id=prefix)
        return parts
    index = 2
    if lowered[2] == "resourcegroups":
        if len(segs) < 4:
            raise ValueError(f"{value!r} names no resource group")
        parts["resource_group"] = segs[3]
        prefix += "/resourceGroups/" + segs[3]
        if len(segs) == 4:
            parts.update(kind="resource_group", name=segs[3], id=prefix)
            return parts
        index = 4
    if lowered[index] != "providers" or len(segs) < index + 4:
        raise ValueError(f"{value!r} is not a resource id: expected .../providers/<namespace>/<type>/<name>")
    rest = segs[index + 2 :]
    if len(rest) % 2:
        raise ValueError(f"{value!r} has a resource type without a name")
    types = rest[0::2]
    names = rest[1::2]
    if any(t.lower() == "providers" for t in types):
        raise ValueError(f"{value!r}: extension resource ids are not supported here")
    parts.update(
        kind="resource",
        namespace=segs[index + 1],
        types=types,
        names=names,
        type="/".join([segs[index + 1]] + types),
        name=names[-1],
        id=prefix + "/providers/" + "/".join(segs[index + 1 :]),
    )
    return parts


def try_parse(value):
    """``parse_resource_id`` that answers None instead of raising."""
    try:
        return parse_resource_id(value)
    except ValueError:
        return None


def resource_group_of(value):
    parts = try_parse(value)
    return parts["resource_group"] if parts else None


def subscription_of(value):
    parts = try_parse(value)
    return parts["subscription_id"] if parts else None


def parse_typed_id(value, expected_type, option):
    """(subscription, resource group, name) of an ARM id of ``expected_type``; InputError naming ``option``."""
    parts = try_parse(value)
    if not parts or parts["kind"] != "resource" or parts["resource_group"] is None \
            or (parts["type"] or "").lower() != expected_type.lower():
        raise InputError(
            "{0} must be the resource id of a {1}: /subscriptions/<id>/resourceGroups/<group>/providers/{1}/<name>; "
            "got '{2}'.".format(option, expected_type, value), option=option)
    return parts["subscription_id"], parts["resource_group"], parts["name"]


def is_child_of(child_id, parent_id, child_type):
    """Whether ``child_id`` is ``<parent_id>/<child_type>/<name>`` (case-insensitive)."""
    head, dummy, name = str(child_id or "").rstrip("/").rpartition("/")
    return bool(name) and same_id(head, "{0}/{1}".format(str(parent_id or "").rstrip("/"), child_type))


# ---------------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------------


def error_body(response):
    """The ARM error object (``code``, ``message``, ``details``, ...) of an error response, or None."""
    if response is None:
        return None
    try:
        body = response.json()
    except (ValueError, AttributeError, TypeError):
        return None
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("error"), dict):
        return body["error"]
    return body if body.get("code") else None


def error_from_exception(exc):
    """The ARM error dict (code, message, details, ...) an azure-core HttpResponseError carries, with its status."""
    error = error_body(getattr(exc, "response", None))
    if error is None:
        odata = getattr(exc, "error", None)
        error = {"code": getattr(odata, "code", None), "message": getattr(odata, "message", None) or str(exc)}
        details = getattr(odata, "details", None) or []
        if details:
            error["details"] = [{"code": getattr(d, "code", None), "message": getattr(d, "message", None)}
                                for d in details]
    error = dict(error)
    error["status_code"] = getattr(exc, "status_code", None)
    return error


def readable_error(error):
    """A UserFacingError (or ARM error) in snake_case, or None."""
    if not error:
        return None
    actions = list(error.get("recommendedAction") or [])
    for item in error.get("additionalInfo") or []:
        info = (item or {}).get("info") if isinstance(item, dict) else None
        if not actions and isinstance(info, dict):
            actions = list(info.get("recommendedAction") or [])
    result = {
        "code": error.get("code"),
        "message": error.get("message"),
        "recommended_action": [action for action in actions if action],
        "is_retryable": error.get("isRetryable"),
        "is_user_error": error.get("isUserError"),
        "target": error.get("target"),
    }
    inner = error.get("innerError") or {}
    if inner.get("code"):
        result["inner_code"] = inner["code"]
    details = [readable_error(item) for item in error.get("details") or [] if item]
    if details:
        result["details"] = details
    return result


def error_text(error):
    """``code: message (recommended action)`` of a readable error, for failure messages."""
    if not error:
        return ""
    text = "{0}: {1}".format(error.get("code") or "error", error.get("message") or "(no message)")
    actions = [a for a in error.get("recommended_action") or [] if a]
    if actions:
        text += " Recommended action: " + " ".join(actions)
    for detail in error.get("details") or []:
        text += " [" + error_text(detail) + "]"
    return text


_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_guid(value):
    return isinstance(value, str) and bool(_GUID_RE.match(value.strip()))
