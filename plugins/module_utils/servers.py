# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Read-only lookup of a datasource's servers: do they exist, where are they, can vaulted backup take them.

Pure helpers over ARM dicts plus ``lookup(datasource, read, list_group, ids, location)``; the module passes the
datasource record and the two readers.
Servers requested in the same resource group are read with one list of the group (paged) when there are at least
``GROUP_LIST_THRESHOLD`` of them, otherwise with one GET each: a hundred servers in one group cost one or two
requests, not a hundred.
"""

from ansible_collections.azbackup.dataprotection.plugins.module_utils import arm, references

GROUP_LIST_THRESHOLD = 2


def to_readable(body, datasource):
    props = body.get("properties") or {}
    server_id = body.get("id") or ""
    sku = body.get("sku") or {}
    problem = datasource.size_problem(body)
    return {
        "id": server_id,
        "name": body.get("name"),
        "subscription_id": arm.subscription_of(server_id),
        "resource_group": arm.resource_group_of(server_id),
        "location": body.get("location"),
        "region": arm.canonical_region(body.get("location")),
        "storage_size_gb": datasource.storage_size_gb(body),
        "over_size_limit": problem is not None,
        "size_problem": problem,
        "version": props.get("version"),
        "sku_name": sku.get("name"),
        "sku_tier": sku.get("tier"),
        "state": props.get("state"),
        "public_network_access": datasource.public_network_access(body),
        "tags": body.get("tags") or {},
    }


def _group_key(server_id):
    parts = arm.try_parse(server_id)
    return arm.normalize_id("/subscriptions/{0}/resourceGroups/{1}".format(
        parts["subscription_id"], parts["resource_group"]))


def lookup(datasource, read, list_group, server_ids, location=None):
    """The servers of ``server_ids`` (None: whatever ``list_group(None)`` lists).

    ``read(id)`` -> body or None; ``list_group(group_id)`` -> bodies of the group (the subscription's servers for
    None). Returns a dict: ``servers`` (readable, in request order), ``missing`` (ids), ``wrong_region``,
    ``problems`` (one sentence per missing or misplaced server, in request order).
    """
    wanted = arm.canonical_region(location)
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
                arm.last_segment(server_id), server_id))
            continue
        item = to_readable(dict(body, id=body.get("id") or server_id), datasource)
        servers.append(item)
        if wanted and item["region"] != wanted:
            wrong_region.append({"id": item["id"], "name": item["name"], "region": item["region"],
                                 "expected_region": wanted})
            problems.append("Server '{0}' is in region {1}, not {2}: a Backup vault protects servers of its own "
                            "region only.".format(item["name"], item["region"], wanted))
    return {"servers": servers, "missing": missing, "wrong_region": wrong_region, "problems": problems}


def requested_ids(params, subscription_id, datasource):
    """(ids or None for "list", invalid-name problems) from the module options; raises ReferenceInputError."""
    if not (params.get("server_id") or params.get("server_name")):
        return None, []
    ids = references.server_references(params, subscription_id, datasource, check_server_names=False)
    names = params.get("server_name") if not params.get("server_id") else None
    names = names if isinstance(names, list) else [names] * len(ids)
    valid, invalid = [], []
    for index, server_id in enumerate(ids):
        name = names[index]
        problem = datasource.name_problem(name if name is not None else arm.last_segment(server_id))
        if problem:
            invalid.append(problem)
        else:
            valid.append(server_id)
    return valid, invalid
