# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    """The options that name a Backup vault (plugins/module_utils/references.py)."""

    DOCUMENTATION = r"""
options:
  vault_name:
    description:
      - Name of the Backup vault. Use with O(resource_group), or use O(vault_id) instead.
    type: str
  resource_group:
    description:
      - Resource group of the Backup vault.
    type: str
  vault_id:
    description:
      - Resource id of the Backup vault, instead of O(vault_name) and O(resource_group). It may be in another
        subscription than O(subscription_id).
    type: str
"""
