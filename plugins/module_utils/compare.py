# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Comparing what the user asked for with what Azure holds.

Azure echoes enum values in whatever case it likes ("GeoRedundant" vs "georedundant"), so comparisons fold
case for those, and look only at what the user set. Resource ids compare with ``arm.same_id``.
"""


def same_enum(left, right):
    """Enum values compare without case and without separators ("SystemAssigned, UserAssigned")."""
    if left is None or right is None:
        return left is right
    return _fold(left) == _fold(right)


def _fold(value):
    return str(value).replace(" ", "").replace("_", "").lower()


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
