# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Comparing what the user asked for with what Azure holds.

Azure echoes resource ids and enum values in whatever case it likes ("resourcegroups",
"Microsoft.DBforPostgreSQL" vs "microsoft.dbforpostgresql", "GeoRedundant" vs "georedundant"), so
comparisons fold case for those, and look only at what the user set.
"""


def normalize_id(resource_id):
    """A canonical form of an ARM id for comparison: lower case, no trailing slash."""
    if resource_id is None:
        return None
    return str(resource_id).rstrip("/").lower()


def same_id(left, right):
    return normalize_id(left) == normalize_id(right)


def same_enum(left, right):
    """Enum values compare without case and without separators ("SystemAssigned, UserAssigned")."""
    if left is None or right is None:
        return left is right
    return _fold(left) == _fold(right)


def _fold(value):
    return str(value).replace(" ", "").replace("_", "").lower()


def changed_keys(desired, current, case_insensitive=()):
    """Keys of ``desired`` (ignoring None values) whose value differs from ``current``.

    Values of keys listed in ``case_insensitive`` compare as enums; nested dicts compare recursively
    on the desired keys only; lists compare in order.
    """
    changed = []
    for key, want in desired.items():
        if want is None:
            continue
        have = (current or {}).get(key)
        if isinstance(want, dict) and isinstance(have, dict):
            if changed_keys(want, have, case_insensitive):
                changed.append(key)
        elif key in case_insensitive:
            if not same_enum(want, have):
                changed.append(key)
        elif want != have:
            changed.append(key)
    return changed


def merge_tags(current, desired, purge):
    """The tags a resource should end with: ``desired`` replaces all (purge) or is merged in."""
    if desired is None:
        return dict(current or {})
    if purge:
        return dict(desired)
    merged = dict(current or {})
    merged.update(desired)
    return merged


def diff_result(before, after):
    """The ``diff`` return value Ansible renders with --diff."""
    return {"before": before if before is not None else {}, "after": after if after is not None else {}}
