"""ARM request/response plumbing shared by all resource modules: error bodies, JSON bodies, paging, ids."""

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import urlencode

from emulator import regions

# Items per page in list responses; small so that clients exercise ``nextLink`` paging.
PAGE_SIZE = 10


class ArmError(Exception):
    """An error answer in ARM's shape: ``{"error": {"code", "message", ...}}`` with an HTTP status."""

    def __init__(self, status, code, message, headers=None, **extra):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self):
        error = {"code": self.code, "message": self.message}
        error.update(self.extra)
        return {"error": error}


@dataclass
class ArmResponse:
    """What a handler returns; the dispatcher adds ARM's common headers and logs it."""

    status: int
    body: Any = None
    headers: dict = field(default_factory=dict)


@dataclass
class ArmRequest:
    """One ARM call as handlers see it (already authenticated, authorized and api-version checked)."""

    method: str
    path: str
    query: dict
    values: dict
    base_url: str
    api_version: Optional[str]
    caller: Any
    store: Any
    settings: Any
    raw_body: bytes = b""
    _parsed: Any = field(default=None, repr=False)
    _parsed_done: bool = field(default=False, repr=False)

    def json(self):
        """The request body as JSON, ``None`` when empty; 400 InvalidRequestContent when unparsable (as ARM)."""
        if not self._parsed_done:
            self._parsed_done = True
            text = self.raw_body.decode("utf-8", errors="replace").strip()
            if text:
                try:
                    self._parsed = json.loads(text)
                except ValueError as exc:
                    raise ArmError(400, "InvalidRequestContent",
                                   f"The request content was invalid and could not be deserialized: '{exc}'.") from exc
        return self._parsed

    def json_object(self):
        """The body, required to be a JSON object."""
        body = self.json()
        if not isinstance(body, dict):
            raise ArmError(400, "InvalidRequestContent",
                           "The request content was invalid and could not be deserialized: "
                           "a JSON object is required.")
        return body

    def url(self, path, **params):
        """Absolute URL on this emulator (ARM builds Location/Azure-AsyncOperation from its own host)."""
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.base_url}{path}{query}"

    @property
    def subscription_id(self):
        return self.values.get("subscription")


def new_guid():
    return str(uuid.uuid4())


def json_response(status, body=None, headers=None):
    return ArmResponse(status, body, dict(headers or {}))


def resource_group_id(subscription_id, group):
    return f"/subscriptions/{subscription_id}/resourceGroups/{group}"


def find_resource_group(store, subscription_id, group):
    """The seeded/created resource group record, matched without case as ARM does, or None."""
    return store.table("resourceGroups").get(resource_group_id(subscription_id, group).lower())


def require_resource_group(store, subscription_id, group):
    record = find_resource_group(store, subscription_id, group)
    if record is None:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")
    return record


def resource_not_found(provider_type, name, group):
    """ARM's answer for a GET on a missing tracked resource in an existing resource group."""
    return ArmError(404, "ResourceNotFound",
                    f"The Resource '{provider_type}/{name}' under resource group '{group}' was not found. "
                    "For more details please go to https://aka.ms/ARMResourceNotFoundFix")


def require_known_location(location, resource_type):
    """400 LocationNotAvailableForResourceType unless the location is a region the emulator knows."""
    if not regions.is_known(location):
        raise ArmError(400, "LocationNotAvailableForResourceType",
                       f"The provided location '{location}' is not available for resource type '{resource_type}'. "
                       f"List of available regions for the resource type is '{','.join(sorted(regions.REGIONS))}'.")


def paged(request, items, page_size=PAGE_SIZE):
    """A ``{"value": [...], "nextLink": ...}`` page; the next link carries ``$skipToken`` and the api-version."""
    try:
        start = max(0, int(request.query.get("$skipToken", "0")))
    except ValueError as exc:
        raise ArmError(400, "InvalidSkipToken", "The skip token is not valid.") from exc
    page = items[start:start + page_size]
    body = {"value": page}
    if start + page_size < len(items):
        params = {"api-version": request.api_version} if request.api_version else {}
        params["$skipToken"] = str(start + page_size)
        body["nextLink"] = request.url(request.path, **params)
    return json_response(200, body)


def ci_get(mapping, key):
    """Look a key up in a dict without case (ARM property names and ids are case-insensitive)."""
    if not isinstance(mapping, dict):
        return None
    if key in mapping:
        return mapping[key]
    lowered = key.lower()
    for name, value in mapping.items():
        if isinstance(name, str) and name.lower() == lowered:
            return value
    return None
