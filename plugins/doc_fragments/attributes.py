# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    """Attributes every module shares (the action group), and those of read-only modules."""

    DOCUMENTATION = r"""
options: {}
attributes:
  action_group:
    support: full
    membership: [azbackup.dataprotection.azure]
    description: Use C(group/azbackup.dataprotection.azure) in C(module_defaults) to set the auth options once.
"""

    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Reads only; there is nothing to compare.
"""
