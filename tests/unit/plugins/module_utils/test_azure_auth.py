"""Which credential source the modules pick, and what they say when none is usable."""

import pytest

from ansible_collections.azbackup.dataprotection.plugins.module_utils import azure_auth

SP_ENV = {"AZURE_CLIENT_ID": "app-env", "AZURE_SECRET": "s3cret-env", "AZURE_TENANT": "tenant-env",
          "AZURE_SUBSCRIPTION_ID": "sub-env"}
CREDENTIALS_FILE = """
[default]
subscription_id = sub-file
client_id = app-file
secret = s3cret-file
tenant = tenant-file

[prod]
subscription_id = sub-prod
client_id = app-prod
secret = s3cret-prod
tenant = tenant-prod
cloud_environment = AzureUSGovernment
"""


def resolve(params=None, environ=None, file_text=None):
    return azure_auth.resolve_auth(params or {}, environ or {}, file_text)


def test_auto_prefers_module_options_over_environment():
    plan = resolve({"client_id": "app-opt", "secret": "s3cret-opt", "tenant": "tenant-opt"}, SP_ENV)
    assert plan["source"] == "options"
    assert (plan["client_id"], plan["secret"], plan["tenant"]) == ("app-opt", "s3cret-opt", "tenant-opt")
    # The subscription the options leave open comes from the environment.
    assert plan["subscription_id"] == "sub-env"


def test_auto_uses_environment_service_principal():
    plan = resolve(environ=SP_ENV, file_text=CREDENTIALS_FILE)
    assert plan["source"] == "env"
    assert plan["kind"] == "service_principal_secret"
    assert plan["client_id"] == "app-env"


def test_azure_client_secret_is_accepted_as_the_secret():
    environ = dict(SP_ENV)
    del environ["AZURE_SECRET"]
    environ["AZURE_CLIENT_SECRET"] = "from-azure-identity-name"
    assert resolve(environ=environ)["secret"] == "from-azure-identity-name"


def test_auto_falls_back_to_credential_file_default_profile():
    plan = resolve(file_text=CREDENTIALS_FILE)
    assert plan["source"] == "credential_file"
    assert (plan["client_id"], plan["subscription_id"]) == ("app-file", "sub-file")


def test_profile_selects_a_section_even_when_environment_has_a_principal():
    plan = resolve({"profile": "prod"}, SP_ENV, CREDENTIALS_FILE)
    assert plan["source"] == "credential_file"
    assert plan["client_id"] == "app-prod"
    assert plan["cloud_environment"] == "AzureUSGovernment"


def test_unknown_profile_names_the_sections():
    with pytest.raises(azure_auth.AuthConfigError, match="Profile 'staging' not found.*default, prod"):
        resolve({"profile": "staging"}, {}, CREDENTIALS_FILE)


def test_auto_ends_with_the_azure_cli():
    plan = resolve()
    assert plan["source"] == "cli"
    assert plan["kind"] == "cli"
    assert any("Azure CLI" in step for step in plan["tried"])


def test_explicit_env_source_with_missing_secret_says_what_to_set():
    with pytest.raises(azure_auth.AuthConfigError) as error:
        resolve({"auth_source": "env"}, {"AZURE_CLIENT_ID": "app", "AZURE_TENANT": "t"})
    message = str(error.value)
    assert "environment variables" in message
    assert "AZURE_SECRET" in message


def test_explicit_credential_file_source_without_file_fails_clearly():
    with pytest.raises(azure_auth.AuthConfigError, match="credential file .* does not exist"):
        resolve({"auth_source": "credential_file"})


def test_msi_needs_no_secret_and_keeps_user_assigned_client_id():
    plan = resolve({"auth_source": "msi", "client_id": "uami-client"})
    assert plan["kind"] == "msi"
    assert plan["client_id"] == "uami-client"


def test_workload_identity_needs_the_federated_token_file():
    environ = {"AZURE_CLIENT_ID": "app", "AZURE_TENANT": "t"}
    with pytest.raises(azure_auth.AuthConfigError, match="AZURE_FEDERATED_TOKEN_FILE"):
        resolve({"auth_source": "workload_identity"}, environ)
    environ["AZURE_FEDERATED_TOKEN_FILE"] = "/var/run/secrets/token"
    plan = resolve({"auth_source": "workload_identity"}, environ)
    assert plan["kind"] == "workload_identity"
    assert plan["federated_token_file"] == "/var/run/secrets/token"


def test_auto_detects_workload_identity_from_environment():
    environ = {"AZURE_CLIENT_ID": "app", "AZURE_TENANT": "t", "AZURE_FEDERATED_TOKEN_FILE": "/tok"}
    assert resolve(environ=environ)["kind"] == "workload_identity"


def test_certificate_instead_of_secret():
    plan = resolve({"client_id": "app", "tenant": "t", "x509_certificate_path": "/etc/sp.pem", "thumbprint": "AB"})
    assert plan["kind"] == "service_principal_certificate"


def test_defaults_for_validation_and_instance_discovery():
    plan = resolve(environ=SP_ENV)
    assert plan["cert_validation_mode"] == "validate"
    assert plan["disable_instance_discovery"] is False
    plan = resolve(environ=dict(SP_ENV, AZURE_DISABLE_INSTANCE_DISCOVERY="true", AZURE_CERT_VALIDATION_MODE="ignore"))
    assert plan["disable_instance_discovery"] is True
    assert plan["cert_validation_mode"] == "ignore"


def test_description_never_contains_the_secret():
    plan = resolve(environ=SP_ENV)
    text = azure_auth.describe_plan(plan)
    assert "app-env" in text and "tenant-env" in text
    assert "s3cret" not in text


def test_secret_option_is_no_log():
    spec = azure_auth.auth_argument_spec()
    assert spec["secret"]["no_log"] is True
    assert set(spec) >= {"auth_source", "profile", "subscription_id", "client_id", "secret", "tenant",
                         "cloud_environment", "cert_validation_mode", "adfs_authority_url",
                         "x509_certificate_path", "thumbprint", "disable_instance_discovery"}


class FakeIdentity:
    """Records which azure-identity credential class would be built, with which arguments."""

    def __init__(self):
        self.built = None

    def __getattr__(self, name):
        def build(*args, **kwargs):
            self.built = (name, args, kwargs)
            return self.built
        return build


@pytest.fixture
def fake_identity(monkeypatch):
    import sys
    import types

    fake = FakeIdentity()
    module = types.ModuleType("azure.identity")
    module.__getattr__ = fake.__getattr__
    monkeypatch.setitem(sys.modules, "azure.identity", module)
    import azure

    monkeypatch.setattr(azure, "identity", module, raising=False)
    return fake


def test_metadata_cloud_disables_instance_discovery(fake_identity):
    plan = resolve(environ=SP_ENV)
    cloud = {"login_endpoint": "https://127.0.0.1:8443/", "from_metadata": True}
    azure_auth.build_credential(plan, cloud)
    name, args, kwargs = fake_identity.built
    assert name == "ClientSecretCredential"
    assert args == ("tenant-env", "app-env", "s3cret-env")
    assert kwargs["authority"] == "https://127.0.0.1:8443/"
    assert kwargs["disable_instance_discovery"] is True


def test_public_cloud_keeps_instance_discovery(fake_identity):
    plan = resolve(environ=SP_ENV)
    azure_auth.build_credential(plan, {"login_endpoint": "https://login.microsoftonline.com/", "from_metadata": False})
    assert "disable_instance_discovery" not in fake_identity.built[2]


def test_adfs_authority_overrides_login_endpoint(fake_identity):
    plan = resolve({"adfs_authority_url": "https://adfs.local/adfs"}, SP_ENV)
    azure_auth.build_credential(plan, {"login_endpoint": "https://login.microsoftonline.com/"})
    assert fake_identity.built[2]["authority"] == "https://adfs.local/adfs"


def test_cli_fallback_description_lists_what_auto_tried():
    text = azure_auth.describe_plan(resolve({"client_id": "app"}))
    assert "Azure CLI" in text
    assert "module options" in text and "environment" in text and "credential file" in text


USER_ENV = {"AZURE_AD_USER": "ops@contoso.example", "AZURE_PASSWORD": "pa55word", "AZURE_SUBSCRIPTION_ID": "sub-env"}


def test_user_and_password_from_the_environment_as_awx_injects_them(fake_identity):
    plan = resolve(environ=USER_ENV)
    assert (plan["source"], plan["kind"], plan["subscription_id"]) == ("env", "user_password", "sub-env")
    assert azure_auth.describe_plan(plan) == "environment variables (user ops@contoso.example)"
    azure_auth.build_credential(plan, {"login_endpoint": "https://login.microsoftonline.com/"})
    name, args, kwargs = fake_identity.built
    assert name == "UsernamePasswordCredential"
    assert args == (azure_auth.USER_CLIENT_ID, "ops@contoso.example", "pa55word")
    assert kwargs["tenant_id"] == "organizations"


def test_user_and_password_options_keep_a_given_client_and_tenant(fake_identity):
    plan = resolve({"ad_user": "ops@contoso.example", "password": "pa55word", "client_id": "app", "tenant": "t1"})
    assert (plan["source"], plan["kind"]) == ("options", "user_password")
    azure_auth.build_credential(plan, {"login_endpoint": "https://login.microsoftonline.com/"})
    assert fake_identity.built[1][0] == "app" and fake_identity.built[2]["tenant_id"] == "t1"


def test_service_principal_wins_over_a_user_in_the_same_environment():
    assert resolve(environ=dict(SP_ENV, **USER_ENV))["kind"] == "service_principal_secret"


def test_user_without_password_says_what_to_set():
    with pytest.raises(azure_auth.AuthConfigError, match="missing password .env AZURE_PASSWORD"):
        resolve({"auth_source": "env"}, {"AZURE_AD_USER": "ops@contoso.example"})


def test_password_option_is_no_log():
    assert azure_auth.auth_argument_spec()["password"]["no_log"] is True


def test_password_sign_in_on_a_private_port_skips_msal_user_realm_discovery():
    from msal.authority import Authority

    azure_auth.build_credential(resolve(environ=USER_ENV), {"login_endpoint": "https://10.1.2.3:8443/",
                                                            "from_metadata": True})
    assert "10.1.2.3" in Authority._domains_without_user_realm_discovery
    azure_auth.build_credential(resolve(environ=USER_ENV), {"login_endpoint": "https://login.example.test/"})
    assert "login.example.test" not in Authority._domains_without_user_realm_discovery
