# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A fake Azure session for the module tests: the in-memory vault as the Data Protection client, role assignments,
generic ARM reads from a dict of resources, and the requests made."""

from ansible_collections.azbackup.dataprotection.tests.unit.plugins.fakes import Response
from ansible_collections.azbackup.dataprotection.tests.unit.plugins.vault_fakes import SUB, Fake


class FakeRoleAssignments:
    def __init__(self):
        self.created = []
        self.existing = []

    def list_for_scope(self, scope, filter=None):
        return list(self.existing)

    def create(self, scope, name, body):
        self.created.append((scope, name, body))
        return dict(body, id=scope + "/providers/Microsoft.Authorization/roleAssignments/" + name, name=name)


class FakeSession:
    """What AzureBackupModule reads from a session: clients, generic ARM reads, the subscription and the caller."""

    def __init__(self, dataprotection=None, resources=None):
        self.subscription_id = SUB
        self.auth_description = "a fake credential"
        self.cloud = {"resource_manager": "https://management.example", "login_endpoint": "https://login.example"}
        self.dataprotection = dataprotection or Fake()
        self.dataprotection.send_request = self.send_request
        self.authorization = type("Authorization", (), {})()
        self.authorization.role_assignments = FakeRoleAssignments()
        self.resources = dict((key.lower(), value) for key, value in (resources or {}).items())
        self.requests = []
        self.plan = {"cert_validation_mode": "validate"}
        self.credential = None

    def client(self, name, subscription_id=None):
        return {"dataprotection": self.dataprotection, "authorization": self.authorization}[name]

    def require_subscription(self):
        return self.subscription_id

    def arm_get(self, path, api_version):
        self.requests.append(("GET", path, api_version))
        return self.resources.get(path.lower())

    def arm_list(self, path, api_version):
        self.requests.append(("LIST", path, api_version))
        prefix = path.lower().rsplit("/providers/", 1)[0]
        kind = path.lower().rsplit("/providers/", 1)[1]
        return [body for key, body in self.resources.items()
                if key.startswith(prefix + "/") and "/providers/" + kind + "/" in key]

    def send_request(self, request):  # permissions: the caller may do everything
        return Response(200, {"value": [{"actions": ["*"], "notActions": []}]})

    def caller(self):
        return {"object_id": None, "app_id": None, "tenant_id": None}
