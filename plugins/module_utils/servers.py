# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Read-only lookup of PostgreSQL Flexible Servers: do they exist, where are they, can vaulted backup take them.

Pure helpers over ARM dicts plus ``lookup(read, list_group, ids, location)``; the module passes the two readers.
Servers requested in the same resource group are read with one list of the group (paged) when there are at least
``GROUP_LIST_THRESHOLD`` of them, otherwise with one GET each: a hundred servers in one group cost one or two
requests, not a hundred.
"""

import re

from ansible_collections.azbackup.dataprotection.plugins.module_utils import pgflex, references

GROUP_LIST_THRESHOLD = 2

# Azure Database for PostgreSQL Flexible Server names: 3 to 63 lowercase letters, digits and hyphens, not starting
# or ending with a hyphen.
_SERVER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def canonical_region(value):
    """``East US`` and ``eastus`` are the same region: lowercase, without spaces."""
    return str(value or "").replace(" ", "").lower() or None


def name_problem(name):
    """Why ``name`` cannot be a PostgreSQL Flexible Server name, or None."""
    if _SERVER_NAME.match(name or ""):
        return None
    return ("'{0}' is not a valid PostgreSQL Flexible Server name (3 to 63 lowercase letters, digits and hyphens, "
            "not starting or ending with a hyphen).".format(name))


def to_readable(body):
    props = body.get("properties") or {}
    server_id = body.get("id") or ""
    parts = server_id.split("/")
    sku = body.get("sku") or {}
    problem = pgflex.size_problem(body)
    return {
        "id": server_id,
        "name": body.get("name"),
        "subscription_id": parts[2] if len(parts) > 2 else None,
        "resource_group": parts[4] if len(parts) > 4 else None,
        "location": body.get("location"),
        "region": canonical_region(body.get("location")),
        "storage_size_gb": pgflex.storage_size_gb(body),
        "over_size_limit": problem is not None,
        "size_problem": problem,
        "version": props.get("version"),
        "sku_name": sku.get("name"),
        "sku_tier": sku.get("tier"),
        "state": props.get("state"),
        "public_network_access": (props.get("network") or {}).get("publicNetworkAccess"),
        "tags": body.get("tags") or {},
    }


def _group_key(server_id):
    parts = server_id.split("/")
    return "/".join(parts[:5]).lower()


def lookup(read, list_group, server_ids, location=None):
    """The servers of ``server_ids`` (None: whatever ``list_group(None)`` lists).

    ``read(id)`` -> body or None; ``list_group(group_id)`` -> bodies of the group (the subscription's servers for
    None). Returns a dict: ``servers`` (readable, in request order), ``missing`` (ids), ``wrong_region``,
    ``problems`` (one sentence per missing or misplaced server, in request order).
    """
    wanted = canonical_region(location)
    found = {}
    missing = []
    if server_ids is None:
        bodies = list_group(None)
        order = [body.get("id") for body in bodies]
        found = dict((body.get("id", "").lower(), body) for body in bodies)
    else:
        order = list(server_ids)
        groups = {}
        for server_id in order:
            groups.setdefault(_group_key(server_id), []).append(server_id)
        for group, members in groups.items():
            if len(members) >= GROUP_LIST_THRESHOLD:
                listed = dict((body.get("id", "").lower(), body) for body in list_group(group) or [])
                for member in members:
                    if member.lower() in listed:
                        found[member.lower()] = listed[member.lower()]
            else:
                for member in members:
                    body = read(member)
                    if body is not None:
                        found[member.lower()] = body
    servers, wrong_region, problems, seen = [], [], [], set()
    for server_id in order:
        key = (server_id or "").lower()
        if key in seen:
            continue
        seen.add(key)
        body = found.get(key)
        if body is None:
            missing.append(server_id)
            problems.append("Server '{0}' does not exist, or the caller cannot read it ({1}).".format(
                server_id.rstrip("/").rsplit("/", 1)[-1], server_id))
            continue
        item = to_readable(dict(body, id=body.get("id") or server_id))
        servers.append(item)
        if wanted and item["region"] != wanted:
            wrong_region.append({"id": item["id"], "name": item["name"], "region": item["region"],
                                 "expected_region": wanted})
            problems.append("Server '{0}' is in region {1}, not {2}: a Backup vault protects servers of its own "
                            "region only.".format(item["name"], item["region"], wanted))
    return {"servers": servers, "missing": missing, "wrong_region": wrong_region, "problems": problems}


def requested_ids(params, subscription_id):
    """(ids or None for "list", invalid-name problems) from the module options; raises ReferenceInputError."""
    if params.get("server_id") or params.get("server_name"):
        invalid = [name_problem(name) for name in params.get("server_name") or [] if name_problem(name)]
        names = [name for name in params.get("server_name") or [] if not name_problem(name)]
        if params.get("server_name"):
            ids = [pgflex.server_id(subscription_id, params["server_resource_group"], name) for name in names] \
                if params.get("server_resource_group") else None
            if ids is None:
                raise references.ReferenceInputError("server_name needs server_resource_group (or use server_id).")
            return ids, invalid
        ids = references.server_references(params, subscription_id)
        for server_id in ids:
            problem = name_problem(server_id.rsplit("/", 1)[-1])
            if problem:
                invalid.append(problem)
        return [i for i in ids if not name_problem(i.rsplit("/", 1)[-1])], invalid
    return None, []
