# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

class ModuleDocFragment:
    """Authentication options shared by every module (plugins/module_utils/azure_auth.py)."""

    DOCUMENTATION = r"""
options:
  auth_source:
    description:
      - Where the credentials come from.
      - V(auto) uses the first that is complete (a service principal, or O(ad_user) and O(password)) of module
        options, environment variables, a profile of the credential file C(~/.azure/credentials), and the Azure
        CLI's login.
      - V(env) uses the C(AZURE_*) environment variables, V(credential_file) the credential file, V(cli) the
        Azure CLI (C(az login)), V(msi) a managed identity, V(workload_identity) a federated token
        (C(AZURE_FEDERATED_TOKEN_FILE), as injected by Azure Workload Identity on Kubernetes).
      - Can be set with the environment variable E(ANSIBLE_AZURE_AUTH_SOURCE).
      - V(auto) when not set.
    type: str
    choices: [auto, env, credential_file, cli, msi, workload_identity]
  profile:
    description:
      - Section of the credential file C(~/.azure/credentials) to read; V(default) when not set.
      - Can be set with E(AZURE_PROFILE).
    type: str
  subscription_id:
    description:
      - Subscription that holds the resources. Can be set with E(AZURE_SUBSCRIPTION_ID).
      - When not set, the Azure CLI's current subscription (O(auth_source=cli)) or the only subscription the
        principal can see is used.
    type: str
  client_id:
    description:
      - Application (client) id of the service principal, or of a user-assigned managed identity with
        O(auth_source=msi). Can be set with E(AZURE_CLIENT_ID).
    type: str
  secret:
    description:
      - Client secret of the service principal. Can be set with E(AZURE_SECRET) or E(AZURE_CLIENT_SECRET).
      - Never shown in output.
    type: str
  tenant:
    description:
      - Directory (tenant) id. Can be set with E(AZURE_TENANT) or E(AZURE_TENANT_ID).
    type: str
  ad_user:
    description:
      - User principal name of an Entra ID user who signs in with O(password) (the resource-owner password flow),
        used instead of a service principal. Can be set with E(AZURE_AD_USER), as AWX and Automation Platform
        "Microsoft Azure Resource Manager" credentials with a user name and password set it.
      - Signs in through O(client_id) when set, otherwise through the Azure CLI's public client; O(tenant) defaults
        to V(organizations). Accounts that need multi-factor authentication cannot use this flow.
    type: str
  password:
    description:
      - Password of O(ad_user). Can be set with E(AZURE_PASSWORD). Never shown in output.
    type: str
  cloud_environment:
    description:
      - V(AzureCloud), V(AzureChinaCloud), V(AzureUSGovernment), or the Resource Manager URL of another cloud
        (Azure Stack Hub, a private cloud, the bundled emulator), whose endpoints are read from
        C(<url>/metadata/endpoints).
      - Can be set with E(AZURE_CLOUD_ENVIRONMENT). V(AzureCloud) when not set.
    type: str
  cert_validation_mode:
    description:
      - V(validate) checks TLS certificates against the CA bundle (E(REQUESTS_CA_BUNDLE) when set);
        V(ignore) does not, and should only be used for tests.
      - Can be set with E(AZURE_CERT_VALIDATION_MODE). V(validate) when not set.
    type: str
    choices: [validate, ignore]
  adfs_authority_url:
    description:
      - Authority URL of an AD FS (Azure Stack Hub) to authenticate against instead of the cloud's login
        endpoint. Can be set with E(AZURE_ADFS_AUTHORITY_URL).
    type: str
  x509_certificate_path:
    description:
      - Path of a PEM file holding the service principal's certificate and private key, used instead of
        O(secret). Can be set with E(AZURE_X509_CERTIFICATE_PATH).
    type: path
  thumbprint:
    description:
      - Thumbprint of the certificate in O(x509_certificate_path). Accepted for compatibility with
        azure.azcollection; azure-identity derives it from the certificate. Can be set with E(AZURE_THUMBPRINT).
    type: str
  disable_instance_discovery:
    description:
      - Do not ask the public Microsoft login host to confirm the authority before authenticating. Needed for
        private clouds and Azure Stack Hub; always on when O(cloud_environment) is a URL or with
        O(adfs_authority_url). Can be set with E(AZURE_DISABLE_INSTANCE_DISCOVERY).
    type: bool
requirements:
  - python >= 3.10
  - azure-identity >= 1.15
  - azure-mgmt-dataprotection >= 2.0
  - azure-mgmt-authorization >= 4.0
notes:
  - Authentication options and environment variables are those of azure.azcollection, so AWX and Automation
    Platform "Microsoft Azure Resource Manager" credentials work unchanged.
  - Set them once for a play with C(module_defaults) and the action group C(group/azbackup.dataprotection.azure).
  - In every module that waits, C(wait_timeout=0) means do not wait. The module returns once Azure has accepted
    the request, and the operation goes on in Azure. Checks that decide whether a change may be made (such as
    validateForBackup) still run to their end, bounded by 600 seconds then.
"""
