# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Run a module's ``main()`` with its arguments and a fake Azure session: argspec -> requests -> result.

The session (credentials, cloud, SDK clients) is replaced by ``FakeSession``; everything else is the module's
own code: AnsibleModule parses the arguments, the façade catches errors, ``exit_json``/``fail_json`` end the run.
"""

import contextlib
import json

import pytest
from ansible.module_utils import basic

from ansible_collections.azbackup.dataprotection.plugins.module_utils import azure_module
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.modules.fake_session import FakeSession

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19

    @contextlib.contextmanager
    def patch_module_args(args):
        serialized = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode("utf-8")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(basic, "_ANSIBLE_ARGS", serialized)
            yield


class ModuleExit(Exception):
    """exit_json or fail_json was called; ``result`` holds what the module returned."""

    def __init__(self, result, failed):
        super(ModuleExit, self).__init__(result.get("msg", ""))
        self.result = result
        self.failed = failed


@pytest.fixture
def run_module(monkeypatch):
    """``run_module(module, args, session)`` -> (result, failed); ``args`` may set ``_ansible_check_mode``."""

    def exit_json(self, **result):
        raise ModuleExit(result, False)

    def fail_json(self, msg, **result):
        raise ModuleExit(dict(result, msg=msg), True)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def run(module, args, session=None):
        session = session or FakeSession()
        monkeypatch.setattr(azure_module, "AzureSession", lambda *a, **k: session)
        with patch_module_args(args):
            with pytest.raises(ModuleExit) as ended:
                module.main()
        return ended.value.result, ended.value.failed

    return run
