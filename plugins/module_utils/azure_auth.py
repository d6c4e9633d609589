# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Authentication: which credential to use, and building it with azure-identity.

The option names, environment variables and the ``~/.azure/credentials`` file are the ones that
azure.azcollection users (and AWX's "Microsoft Azure Resource Manager" credential) already have.
``resolve_auth`` is pure (options + environment + file contents in, a plan out) so that every
source and its error message is unit-tested; ``build_credential`` turns the plan into an
azure-identity credential.
"""

import configparser
import os
import warnings
from urllib.parse import urlparse

from ansible.module_utils.basic import env_fallback

from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError

AUTH_SOURCES = ["auto", "env", "credential_file", "cli", "msi", "workload_identity"]
CREDENTIAL_FILE = os.path.join("~", ".azure", "credentials")


def auth_argument_spec():
    """The auth options every module accepts; documented once in doc_fragments/azure.py."""
    return dict(
        auth_source=dict(type="str", choices=AUTH_SOURCES, fallback=(env_fallback, ["ANSIBLE_AZURE_AUTH_SOURCE"])),
        profile=dict(type="str"),
        subscription_id=dict(type="str"),
        client_id=dict(type="str"),
        secret=dict(type="str", no_log=True),
        tenant=dict(type="str"),
        cloud_environment=dict(type="str"),
        cert_validation_mode=dict(type="str", choices=["validate", "ignore"]),
        adfs_authority_url=dict(type="str"),
        x509_certificate_path=dict(type="path"),
        thumbprint=dict(type="str"),
        disable_instance_discovery=dict(type="bool"),
        ad_user=dict(type="str"),
        password=dict(type="str", no_log=True),
    )


class AuthConfigError(InputError):
    """The options and environment do not describe a usable credential; the message says what to set."""


# Environment variables, in azure.azcollection's names (AZURE_CLIENT_SECRET is azure-identity's name for the secret).
ENV_NAMES = {
    "subscription_id": ["AZURE_SUBSCRIPTION_ID"],
    "client_id": ["AZURE_CLIENT_ID"],
    "secret": ["AZURE_SECRET", "AZURE_CLIENT_SECRET"],
    "tenant": ["AZURE_TENANT", "AZURE_TENANT_ID"],
    "cloud_environment": ["AZURE_CLOUD_ENVIRONMENT"],
    "cert_validation_mode": ["AZURE_CERT_VALIDATION_MODE"],
    "adfs_authority_url": ["AZURE_ADFS_AUTHORITY_URL"],
    "x509_certificate_path": ["AZURE_X509_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PATH"],
    "thumbprint": ["AZURE_THUMBPRINT"],
    "profile": ["AZURE_PROFILE"],
    "disable_instance_discovery": ["AZURE_DISABLE_INSTANCE_DISCOVERY"],
    "ad_user": ["AZURE_AD_USER"],
    "password": ["AZURE_PASSWORD"],
}
# The public client a user signs in through when no client_id is given (the Azure CLI's, as azure.azcollection uses).
USER_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
FEDERATED_TOKEN_ENV = "AZURE_FEDERATED_TOKEN_FILE"
SETTING_KEYS = ["subscription_id", "client_id", "secret", "tenant", "cloud_environment", "cert_validation_mode",
                "adfs_authority_url", "x509_certificate_path", "thumbprint", "disable_instance_discovery", "ad_user",
                "password"]


def _from_env(environ, key):
    for name in ENV_NAMES.get(key, []):
        value = environ.get(name)
        if value:
            return value
    return None


def _bool(value):
    if isinstance(value, bool) or value is None:
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def read_credential_file(text, profile):
    """Settings of one profile of an INI credentials file (azure.azcollection's format)."""
    parser = configparser.ConfigParser()
    parser.read_string(text)
    if not parser.has_section(profile):
        raise AuthConfigError(
            "Profile '{0}' not found in the credential file {1}; its sections are: {2}.".format(
                profile, CREDENTIAL_FILE, ", ".join(parser.sections()) or "none"
            )
        )
    return {key: value for key, value in parser.items(profile) if value != ""}


def resolve_auth(params, environ, credential_file_text=None):
    """Decide which credential source to use and with which settings.

    ``params`` are the module's auth options, ``environ`` the process environment, and
    ``credential_file_text`` the contents of ~/.azure/credentials (None when it does not exist).
    Returns a dict: ``source`` (env, credential_file, cli, msi, workload_identity, or ``options`` for
    module options), ``kind`` (service_principal_secret, service_principal_certificate, user_password, cli, msi,
    workload_identity), the settings, and ``tried`` (what ``auto`` looked at, for error messages).
    """
    requested = params.get("auth_source") or "auto"
    profile = params.get("profile") or environ.get("AZURE_PROFILE")
    option_settings = {k: params.get(k) for k in SETTING_KEYS if params.get(k) not in (None, "")}
    env_settings = {k: _from_env(environ, k) for k in SETTING_KEYS if _from_env(environ, k)}
    tried = []

    def plan(source, settings):
        # The environment fills what the chosen source leaves open (subscription, cloud); options win over both.
        merged = dict(env_settings)
        merged.update(settings)
        merged.update(option_settings)  # module options always win over the source they refine
        merged["disable_instance_discovery"] = _bool(merged.get("disable_instance_discovery")) or False
        merged["cert_validation_mode"] = merged.get("cert_validation_mode") or "validate"
        result = dict(merged, source=source, kind=_kind(source, merged), tried=tried)
        _check_complete(result)
        return result

    def file_settings():
        if credential_file_text is None:
            if profile or requested == "credential_file":
                raise AuthConfigError(
                    "auth_source={0} needs the credential file {1}, which does not exist. Create it with a "
                    "[{2}] section (subscription_id, client_id, secret, tenant), or use another auth_source.".format(
                        requested, CREDENTIAL_FILE, profile or "default"
                    )
                )
            return None
        return read_credential_file(credential_file_text, profile or "default")

    if requested == "env":
        return plan("env", env_settings)
    if requested == "credential_file":
        return plan("credential_file", file_settings())
    if requested in ("cli", "msi"):
        return plan(requested, {})
    if requested == "workload_identity":
        token_file = environ.get(FEDERATED_TOKEN_ENV)
        return plan("workload_identity", {"federated_token_file": token_file} if token_file else {})

    # auto: module options, then the environment, then a credentials-file profile, then the Azure CLI.
    tried.append("module options (client_id + secret or x509_certificate_path, tenant; or ad_user + password)")
    if _has_service_principal(option_settings) or _has_user(option_settings):
        return plan("options", {})
    tried.append("environment (AZURE_CLIENT_ID, AZURE_SECRET or AZURE_CLIENT_SECRET, AZURE_TENANT; or AZURE_AD_USER, "
                 "AZURE_PASSWORD)")
    if (_has_service_principal(env_settings) or _has_user(env_settings)) and not profile:
        return plan("env", env_settings)
    if environ.get(FEDERATED_TOKEN_ENV) and env_settings.get("client_id") and env_settings.get("tenant"):
        return plan("workload_identity", {"federated_token_file": environ[FEDERATED_TOKEN_ENV]})
    tried.append("credential file {0} [{1}]".format(CREDENTIAL_FILE, profile or "default"))
    settings = file_settings()
    if settings is not None:
        return plan("credential_file", settings)
    tried.append("Azure CLI (az login)")
    return plan("cli", {})


def _has_service_principal(settings):
    return bool(settings.get("client_id") and (settings.get("secret") or settings.get("x509_certificate_path")))


def _has_user(settings):
    return bool(settings.get("ad_user") and settings.get("password"))


def _kind(source, settings):
    if source in ("cli", "msi", "workload_identity"):
        return source
    if settings.get("ad_user") and not settings.get("secret") and not settings.get("x509_certificate_path"):
        return "user_password"
    if settings.get("x509_certificate_path") and not settings.get("secret"):
        return "service_principal_certificate"
    return "service_principal_secret"


def _check_complete(plan):
    kind = plan["kind"]
    source = plan["source"]
    missing = []
    if kind.startswith("service_principal"):
        for key in ("client_id", "tenant"):
            if not plan.get(key):
                missing.append(key)
        if not plan.get("secret") and not plan.get("x509_certificate_path"):
            missing.append("secret (or x509_certificate_path)")
    elif kind == "user_password":
        if not plan.get("password"):
            missing.append("password")
    elif kind == "workload_identity":
        for key in ("client_id", "tenant", "federated_token_file"):
            if not plan.get(key):
                missing.append(key)
    if missing:
        raise AuthConfigError(_missing_message(source, missing, plan["tried"]))


def _missing_message(source, missing, tried):
    env_hint = {
        "client_id": "AZURE_CLIENT_ID",
        "tenant": "AZURE_TENANT",
        "secret (or x509_certificate_path)": "AZURE_SECRET",
        "federated_token_file": FEDERATED_TOKEN_ENV,
        "password": "AZURE_PASSWORD",
    }
    parts = ["{0} (env {1})".format(item, env_hint.get(item, "-")) for item in missing]
    message = "Azure credentials from {0} are incomplete: missing {1}.".format(_source_label(source), ", ".join(parts))
    if tried:
        message += " auth_source=auto tried: {0}.".format("; ".join(tried))
    return message


def _source_label(source):
    return {
        "options": "module options",
        "env": "environment variables",
        "credential_file": "the credential file {0}".format(CREDENTIAL_FILE),
        "cli": "the Azure CLI",
        "msi": "managed identity",
        "workload_identity": "workload identity (federated token)",
    }.get(source, source)


def describe_plan(plan):
    """One line naming the source and principal, never the secret."""
    text = _source_label(plan["source"])
    if plan["kind"] == "user_password":
        return text + " (user {0})".format(plan["ad_user"])
    if plan.get("client_id"):
        text += " (client_id {0}".format(plan["client_id"])
        text += ", tenant {0})".format(plan["tenant"]) if plan.get("tenant") else ")"
    if plan["source"] == "cli" and plan.get("tried"):
        # auto fell through to the CLI: say what it looked at before, since that is usually what was meant.
        text += ", the last resort of auth_source=auto after: {0}".format("; ".join(plan["tried"][:-1]))
    return text


def build_credential(plan, cloud, environ=None):
    """An azure-identity credential for ``plan`` in ``cloud`` (see azure_cloud.resolve_cloud).

    The authority comes from the cloud (or adfs_authority_url). Instance discovery is disabled when the
    cloud came from a metadata URL, for ADFS, or when asked: otherwise MSAL would first ask the public
    Microsoft login host whether the authority is known, which fails for Azure Stack and private clouds.
    """
    from azure import identity  # guarded by the caller (azure_module checks the import once)

    environ = os.environ if environ is None else environ
    authority = plan.get("adfs_authority_url") or cloud["login_endpoint"]
    common = {"authority": authority}
    if plan.get("disable_instance_discovery") or cloud.get("from_metadata") or plan.get("adfs_authority_url"):
        common["disable_instance_discovery"] = True
    if plan.get("cert_validation_mode") == "ignore":
        common["connection_verify"] = False
    kind = plan["kind"]
    if kind == "service_principal_secret":
        return identity.ClientSecretCredential(plan["tenant"], plan["client_id"], plan["secret"], **common)
    if kind == "service_principal_certificate":
        return identity.CertificateCredential(
            plan["tenant"], plan["client_id"], certificate_path=plan["x509_certificate_path"], **common
        )
    if kind == "user_password":
        _skip_user_realm_discovery(authority)
        with warnings.catch_warnings():
            # azure-identity deprecates the password flow because it cannot do multi-factor authentication; it is
            # still what AWX's user-and-password credential and azure.azcollection's ad_user/password give us.
            warnings.simplefilter("ignore", DeprecationWarning)
            return identity.UsernamePasswordCredential(
                plan.get("client_id") or USER_CLIENT_ID, plan["ad_user"], plan["password"],
                tenant_id=plan.get("tenant") or "organizations", **common
            )
    if kind == "workload_identity":
        return identity.WorkloadIdentityCredential(
            tenant_id=plan["tenant"], client_id=plan["client_id"], token_file_path=plan["federated_token_file"],
            **common
        )
    if kind == "msi":
        return identity.ManagedIdentityCredential(client_id=plan.get("client_id"))
    return identity.AzureCliCredential(tenant_id=plan.get("tenant"))


def _skip_user_realm_discovery(authority):
    """Let MSAL go straight to the password grant on a login endpoint with an explicit port.

    Before a password sign-in MSAL asks ``https://<host>/common/userrealm/<user>`` whether the user's domain is
    federated, dropping the authority's port. A private cloud whose login endpoint listens on another port than 443
    has no such endpoint there, and the sign-in would fail on a refused connection; Azure's own login hosts are
    unaffected. MSAL keeps the hosts that have no realm discovery in a class-level set.
    """
    parsed = urlparse(authority)
    if not parsed.port or parsed.port == 443:
        return
    try:
        from msal.authority import Authority
    except ImportError:
        return
    known = getattr(Authority, "_domains_without_user_realm_discovery", None)
    if isinstance(known, set):
        known.add(parsed.hostname)
