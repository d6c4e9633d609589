# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    """List mode of the per-server modules: many servers in one module run (module_utils/server_list.py)."""

    DOCUMENTATION = r"""
options:
  servers:
    description:
      - List mode. The servers to act on in one module run, instead of O(server_id) / O(server_name). Each entry is
        a resource id, a name (in O(server_resource_group)), or a dictionary with C(id), or with C(name) and
        C(resource_group).
      - The servers are handled at most O(max_parallel) at a time. The vault, its backup instances and the policies
        are read once for all of them. A server that fails does not stop the others.
      - The result has one entry per server under RV(servers). When any server failed, the module fails after all of
        them are done, with a message naming each failed server, and still returns RV(servers) and
        RV(failed_servers).
    type: list
    elements: raw
    version_added: 0.2.0
  max_parallel:
    description:
      - List mode. How many servers are handled at the same time (threads of the one module process), 1 to 50.
    type: int
    default: 10
    version_added: 0.2.0
"""
