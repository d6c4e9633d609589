# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    """The options that name an Azure Database for PostgreSQL Flexible Server (module_utils/references.py)."""

    DOCUMENTATION = r"""
options:
  server_name:
    description:
      - Name of the PostgreSQL Flexible Server. Use with O(server_resource_group), or use O(server_id) instead.
    type: str
  server_resource_group:
    description:
      - Resource group of the server.
    type: str
  server_id:
    description:
      - Resource id of the server, instead of O(server_name) and O(server_resource_group).
    type: str
"""
