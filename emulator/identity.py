"""Identity side of the emulator: cloud metadata, OpenID/OAuth2 (client credentials, password), tokens, principals.

Clients reach these endpoints exactly as they reach a sovereign cloud: ``/metadata/endpoints`` tells
them the Resource Manager URL, the login endpoint and the token audience; MSAL (via azure-identity)
then reads ``/{tenant}/v2.0/.well-known/openid-configuration`` and posts to its ``token_endpoint``.
Tokens are JWT-shaped (HS256 with a per-process key) and name the caller (``oid``, ``appid``, ``tid``),
so ARM calls are authenticated and authorized per principal.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import parse_qs

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from emulator import registry, seed
from emulator.arm import ArmError

TOKEN_LIFETIME_SECONDS = 3600
PRINCIPALS_TABLE = "principals"
STORAGE_AUDIENCE = "https://storage.azure.com"


@dataclass(frozen=True)
class Caller:
    """The principal behind a bearer token."""

    object_id: str
    client_id: str
    tenant_id: str
    audience: str
    name: str


# ---------------------------------------------------------------------------------------------- principals


@registry.seeder(order=10)
def seed_principals(store):
    """Service principals with secrets, and the user-assigned identities' service principals."""
    for principal in seed.PRINCIPALS:
        add_principal(store, principal["objectId"], principal["name"], app_id=principal["clientId"],
                      secret=principal["secret"], kind="Application")
    for identity in seed.USER_ASSIGNED_IDENTITIES:
        resource_id = seed.arm_id(identity["subscriptionId"], identity["resourceGroup"],
                                  "Microsoft.ManagedIdentity/userAssignedIdentities", identity["name"])
        add_principal(store, identity["principalId"], identity["name"], app_id=identity["clientId"],
                      kind="ManagedIdentity", resource_id=resource_id)
    for user in seed.USERS:
        add_principal(store, user["objectId"], user["name"], kind="User")
        record = find_principal(store, user["objectId"])
        record.update(principalType="User", userPrincipalName=user["userPrincipalName"], password=user["password"])


def add_principal(store, object_id, display_name, app_id=None, secret=None, kind="ManagedIdentity",
                  resource_id=None):
    """Add a service principal to the directory (managed identities are added by the resources owning them)."""
    store.table(PRINCIPALS_TABLE)[object_id.lower()] = {
        "objectId": object_id,
        "appId": app_id or object_id,
        "displayName": display_name,
        "principalType": "ServicePrincipal",
        "servicePrincipalType": kind,
        "secret": secret,
        "resourceId": resource_id,
    }


def remove_principal(store, object_id):
    store.table(PRINCIPALS_TABLE).pop((object_id or "").lower(), None)


def find_principal(store, object_id):
    return store.table(PRINCIPALS_TABLE).get((object_id or "").lower())


def _user_by_name(store, username):
    for record in store.table(PRINCIPALS_TABLE).values():
        if record["principalType"] == "User" and record["userPrincipalName"].lower() == (username or "").lower():
            return record
    return None


def _principal_by_client_id(store, client_id):
    for record in store.table(PRINCIPALS_TABLE).values():
        if record["secret"] and record["appId"].lower() == (client_id or "").lower():
            return record
    return None


# ------------------------------------------------------------------------------------------------- tokens


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Mints and verifies the emulator's JWT-shaped access tokens (HS256 with a per-process key)."""

    def __init__(self):
        # Per process, not per reset: clients cache tokens across a reset and must keep working.
        self._key = secrets.token_bytes(32)

    def _sign(self, signing_input):
        return _b64url(hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest())

    def mint(self, principal, audience, issuer, client_id=None):
        """An access token; ``client_id`` is the public client a user signed in through (user tokens only)."""
        now = int(time.time())
        payload = {
            "aud": audience, "iss": issuer, "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME_SECONDS,
            "aio": "emulator", "appid": client_id or principal["appId"], "appidacr": "0" if client_id else "1",
            "idp": issuer, "idtyp": "user" if client_id else "app",
            "oid": principal["objectId"], "rh": "emulator", "sub": principal["objectId"], "tid": seed.TENANT_ID,
            "uti": _b64url(uuid.uuid4().bytes), "ver": "1.0", "name": principal["displayName"],
        }
        if client_id:
            payload["upn"] = principal["userPrincipalName"]
        return self._encode(payload)

    def id_token(self, principal, client_id, issuer):
        """The OpenID Connect id token of a user sign-in (MSAL builds its account from it)."""
        now = int(time.time())
        return self._encode({
            "aud": client_id, "iss": issuer, "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME_SECONDS,
            "oid": principal["objectId"], "sub": principal["objectId"], "tid": seed.TENANT_ID, "ver": "2.0",
            "name": principal["displayName"], "preferred_username": principal["userPrincipalName"],
        })

    def _encode(self, payload):
        header = {"typ": "JWT", "alg": "HS256", "kid": "azbackup-emulator"}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(payload).encode())}"
        return f"{signing_input}.{self._sign(signing_input)}"

    def verify(self, store, authorization, audiences):
        """The Caller for an ``Authorization`` header value, or ArmError 401 as ARM answers."""
        if not authorization:
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                           headers=_www_authenticate("The authentication failed because of missing "
                                                     "'Authorization' header."))
        scheme, _space, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ArmError(401, "AuthenticationFailed",
                           "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                           headers=_www_authenticate("The authentication failed because of invalid 'Authorization' "
                                                     "header format."))
        payload = self._decode(token.strip())
        now = time.time()
        if payload.get("exp", 0) < now:
            expired = datetime.fromtimestamp(payload.get("exp", 0), timezone.utc)
            raise ArmError(401, "ExpiredAuthenticationToken",
                           f"The access token expiry UTC time '{expired:%m/%d/%Y %I:%M:%S %p}' is earlier than current "
                           f"UTC time '{datetime.now(timezone.utc):%m/%d/%Y %I:%M:%S %p}'.",
                           headers=_www_authenticate("The access token has expired."))
        audience = str(payload.get("aud", ""))
        if audience.rstrip("/") not in {item.rstrip("/") for item in audiences}:
            allowed = ",".join(f"'{item}'" for item in audiences)
            raise ArmError(401, "InvalidAuthenticationTokenAudience",
                           f"The access token has been obtained for wrong audience or resource '{audience}'. "
                           f"It should exactly match with one of the allowed audiences {allowed}.",
                           headers=_www_authenticate("The access token has been obtained for wrong audience."))
        if payload.get("tid") != seed.TENANT_ID:
            raise ArmError(401, "InvalidAuthenticationTokenTenant",
                           f"The access token is from the wrong issuer '{payload.get('iss')}'. It must match the "
                           f"tenant '{seed.TENANT_ID}' associated with this subscription.")
        principal = find_principal(store, payload.get("oid"))
        if principal is None:
            raise ArmError(401, "InvalidAuthenticationToken",
                           "The access token is invalid: its principal does not exist in the directory.")
        return Caller(object_id=principal["objectId"], client_id=principal["appId"], tenant_id=seed.TENANT_ID,
                      audience=audience, name=principal["displayName"])

    def _decode(self, token):
        invalid = ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.",
                           headers=_www_authenticate("The access token is invalid."))
        parts = token.split(".")
        if len(parts) != 3:
            raise invalid
        if not hmac.compare_digest(self._sign(f"{parts[0]}.{parts[1]}"), parts[2]):
            raise invalid
        try:
            payload = json.loads(_b64url_decode(parts[1]))
        except ValueError as exc:
            raise invalid from exc
        if not isinstance(payload, dict):
            raise invalid
        return payload


def _www_authenticate(description):
    return {"WWW-Authenticate": f'Bearer authorization_uri="https://login.{seed.DNS_SUFFIX}/", '
                                f'error="invalid_token", error_description="{description}"'}


# --------------------------------------------------------------------------------------- cloud metadata


def cloud_metadata(base_url):
    """The cloud object: 2022-09-01 keys plus the legacy ones older readers look for."""
    root = base_url + "/"
    suffix = seed.DNS_SUFFIX
    return {
        "name": "AzureBackupEmulator",
        "portal": root,
        "portalEndpoint": root,
        "resourceManager": root,
        "authentication": {
            "loginEndpoint": root,
            "audiences": [seed.AUDIENCE, seed.AUDIENCE.rstrip("/")],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "media": f"https://rest.media.{suffix}/",
        "graphAudience": f"https://graph.{suffix}/",
        "graph": f"https://graph.{suffix}/",
        "graphEndpoint": f"https://graph.{suffix}/",
        "gallery": f"https://gallery.{suffix}/",
        "galleryEndpoint": f"https://gallery.{suffix}/",
        "batch": f"https://batch.{suffix}/",
        "sqlManagement": f"https://management.{suffix}:8443/",
        "vmImageAliasDoc": f"https://aliases.{suffix}/aliases.json",
        "activeDirectoryDataLake": f"https://datalake.{suffix}/",
        "microsoftGraphResourceId": f"https://graph.microsoft.{suffix}/",
        "appInsightsResourceId": f"https://api.applicationinsights.{suffix}",
        "appInsightsTelemetryChannelResourceId": f"https://dc.applicationinsights.{suffix}/v2/track",
        "attestationResourceId": f"https://attest.{suffix}",
        "synapseAnalyticsResourceId": f"https://dev.azuresynapse.{suffix}",
        "logAnalyticsResourceId": f"https://api.loganalytics.{suffix}",
        "ossrdbmsResourceId": f"https://ossrdbms-aad.{suffix}",
        "suffixes": {
            "azureDataLakeStoreFileSystem": f"azuredatalakestore.{suffix}",
            "acrLoginServer": f"azurecr.{suffix}",
            "sqlServerHostname": f"database.{suffix}",
            "azureDataLakeAnalyticsCatalogAndJob": f"azuredatalakeanalytics.{suffix}",
            "keyVaultDns": f"vault.{suffix}",
            "storage": f"core.{suffix}",
            "azureFrontDoorEndpointSuffix": f"azurefd.{suffix}",
            "storageSyncEndpointSuffix": f"afs.{suffix}",
            "mhsmDns": f"managedhsm.{suffix}",
            "mysqlServerEndpoint": f"mysql.{suffix}",
            "postgresqlServerEndpoint": f"postgres.{suffix}",
            "mariadbServerEndpoint": f"mariadb.{suffix}",
            "synapseAnalytics": f"dev.azuresynapse.{suffix}",
            "attestationEndpoint": f"attest.{suffix}",
        },
    }


def metadata_response(base_url, api_version):
    """``2019-05-01`` answers the list form; every other api-version the single-object form."""
    cloud = cloud_metadata(base_url)
    body = [cloud] if api_version == "2019-05-01" else cloud
    return _json(200, body)


# ------------------------------------------------------------------------------------- OpenID and OAuth2


IDENTITY_MAP = Map([
    Rule("/metadata/endpoints", endpoint="metadata", methods=["GET"]),
    Rule("/adfs/.well-known/openid-configuration", endpoint="adfs_openid", methods=["GET"]),
    Rule("/adfs/oauth2/token", endpoint="token", methods=["POST"], defaults={"tenant": "adfs"}),
    Rule("/common/discovery/instance", endpoint="instance_discovery", methods=["GET"], defaults={"tenant": "common"}),
    Rule("/<tenant>/discovery/instance", endpoint="instance_discovery", methods=["GET"]),
    Rule("/common/userrealm/<username>", endpoint="user_realm", methods=["GET"]),
    Rule("/<tenant>/v2.0/.well-known/openid-configuration", endpoint="openid", methods=["GET"]),
    Rule("/<tenant>/.well-known/openid-configuration", endpoint="openid", methods=["GET"]),
    Rule("/<tenant>/discovery/v2.0/keys", endpoint="keys", methods=["GET"]),
    Rule("/<tenant>/discovery/keys", endpoint="keys", methods=["GET"]),
    Rule("/<tenant>/oauth2/v2.0/token", endpoint="token", methods=["POST"]),
    Rule("/<tenant>/oauth2/token", endpoint="token", methods=["POST"]),
], strict_slashes=False)


def _json(status, body, headers=None):
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store, no-cache"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _tenant_known(tenant):
    return tenant.lower() in (seed.TENANT_ID, seed.TENANT_DOMAIN, "adfs", "organizations", "common")


def _aad_error(status, error, code, description, **extra):
    """An Entra ID (AADSTS) error body: error, error_description with trace ids, error_codes."""
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} "
                             f"Timestamp: {stamp}",
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.{seed.DNS_SUFFIX}/error?code={code}",
    }
    body.update(extra)
    return _json(status, body)


def _tenant_not_found(tenant):
    return _aad_error(400, "invalid_tenant", 90002,
                      f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
                      "into the correct cloud. Check with your subscription administrator, this may happen if there "
                      "are no active subscriptions for the tenant.")


def _openid_configuration(base_url, tenant):
    tenant_id = seed.TENANT_ID if tenant.lower() not in ("common", "organizations") else "{tenantid}"
    prefix = f"{base_url}/{tenant}"
    return {
        "token_endpoint": f"{prefix}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{prefix}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base_url}/{tenant_id}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base_url}/oidc/userinfo",
        "authorization_endpoint": f"{prefix}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{prefix}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{prefix}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver", "oid"],
        "kerberos_endpoint": f"{prefix}/kerberos",
        "tenant_region_scope": "NA",
        "cloud_instance_name": seed.DNS_SUFFIX,
        "cloud_graph_host_name": f"graph.{seed.DNS_SUFFIX}",
        "msgraph_host": f"graph.microsoft.{seed.DNS_SUFFIX}",
        "rbac_url": f"https://pas.{seed.DNS_SUFFIX}",
    }


def _adfs_configuration(base_url):
    prefix = f"{base_url}/adfs"
    return {
        "issuer": prefix,
        "authorization_endpoint": f"{prefix}/oauth2/authorize",
        "token_endpoint": f"{prefix}/oauth2/token",
        "jwks_uri": f"{prefix}/discovery/keys",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "private_key_jwt"],
        "response_types_supported": ["code", "id_token", "code id_token", "token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["pairwise"],
        "scopes_supported": ["openid", "profile", "email", "allatclaims"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "access_token_issuer": f"{prefix}/services/trust",
    }


def _form(request):
    """Form parameters of a token request (x-www-form-urlencoded), plus HTTP Basic client credentials."""
    params = {key: values[0] for key, values in parse_qs(request.get_data(as_text=True)).items() if values}
    if request.authorization and request.authorization.type == "basic":
        params.setdefault("client_id", request.authorization.username or "")
        params.setdefault("client_secret", request.authorization.password or "")
    return params


def _audience_from(params):
    """The resource a token is for: the ``scope`` ending in ``/.default`` (v2) or ``resource`` (v1)."""
    for scope in (params.get("scope") or "").split():
        if scope.endswith("/.default"):
            return scope[: -len("/.default")]
    return params.get("resource")


def token_issuer(base_url, audience):
    """Storage-audience tokens name Entra ID's issuer, the only kind a storage service (Azurite) accepts."""
    if audience.rstrip("/").lower() == STORAGE_AUDIENCE:
        return f"https://sts.windows.net/{seed.TENANT_ID}/"
    return f"{base_url}/{seed.TENANT_ID}/"


def _token(store, issuer, base_url, tenant, request):
    if not _tenant_known(tenant):
        return _tenant_not_found(tenant)
    params = _form(request)
    if params.get("grant_type") == "password":
        return _password_token(store, issuer, base_url, tenant, request, params)
    if params.get("grant_type") != "client_credentials":
        return _aad_error(400, "unsupported_grant_type", 70003,
                          f"The app requested an unsupported grant type '{params.get('grant_type')}'. "
                          "The emulator supports the client credentials and password flows only.")
    client_id = params.get("client_id", "")
    principal = _principal_by_client_id(store, client_id)
    if principal is None:
        return _aad_error(400, "unauthorized_client", 700016,
                          f"Application with identifier '{client_id}' was not found in the directory "
                          f"'{seed.TENANT_DOMAIN}'. This can happen if the application has not been installed by the "
                          "administrator of the tenant or consented to by any user in the tenant. You may have sent "
                          "your authentication request to the wrong tenant.")
    if "client_secret" not in params:
        return _aad_error(401, "invalid_client", 7000218,
                          "The request body must contain the following parameter: 'client_assertion' or "
                          "'client_secret'.")
    if not hmac.compare_digest(params["client_secret"], principal["secret"]):
        return _aad_error(401, "invalid_client", 7000215,
                          "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                          "secret value, not the client secret ID, for a secret added to app "
                          f"'{principal['appId']}'.")
    audience = _audience_from(params)
    if not audience:
        return _aad_error(400, "invalid_scope", 1002012,
                          f"The provided value for scope '{params.get('scope', '')}' is not valid. Client credential "
                          "flows must have a scope value with /.default suffixed to the resource identifier "
                          "(application ID URI).")
    token = issuer.mint(principal, audience, token_issuer(base_url, audience))
    body = {"token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECONDS - 1,
            "ext_expires_in": TOKEN_LIFETIME_SECONDS - 1, "access_token": token}
    if tenant == "adfs" or "/v2.0/" not in request.path:
        body["resource"] = audience
    return _json(200, body)


def _password_token(store, issuer, base_url, tenant, request, params):
    """The resource-owner password grant of a seeded user, through any public client id."""
    if tenant == "adfs":
        return _aad_error(400, "unsupported_grant_type", 70003, "The emulator's AD FS endpoint signs in applications "
                          "only (client credentials).")
    user = _user_by_name(store, params.get("username"))
    if user is None or not hmac.compare_digest(params.get("password") or "", user["password"]):
        # Entra ID answers both cases alike, so that user names cannot be probed.
        return _aad_error(400, "invalid_grant", 50126, "Error validating credentials due to invalid username or "
                          "password.")
    client_id = params.get("client_id")
    if not client_id:
        return _aad_error(400, "invalid_request", 900144, "The request body must contain the following parameter: "
                          "'client_id'.")
    scopes = (params.get("scope") or "").split()
    audience = _audience_from(params)
    if not audience:
        return _aad_error(400, "invalid_scope", 70011, f"The provided value for the input parameter 'scope' is not "
                          f"valid. The scope {params.get('scope', '')} is not valid.")
    token_issuer = f"{base_url}/{seed.TENANT_ID}/"
    body = {"token_type": "Bearer", "scope": " ".join(s for s in scopes if s not in ("openid", "profile",
                                                                                     "offline_access")),
            "expires_in": TOKEN_LIFETIME_SECONDS - 1, "ext_expires_in": TOKEN_LIFETIME_SECONDS - 1,
            "access_token": issuer.mint(user, audience, token_issuer, client_id=client_id)}
    if "openid" in scopes or "profile" in scopes:
        body["id_token"] = issuer.id_token(user, client_id, f"{base_url}/{seed.TENANT_ID}/v2.0")
        body["client_info"] = _b64url(json.dumps({"uid": user["objectId"], "utid": seed.TENANT_ID}).encode())
    return _json(200, body)


def _user_realm(base_url, username):
    """Home realm discovery: every seeded domain is a managed (cloud-only) one, so MSAL uses the password grant."""
    return {"ver": "1.0", "account_type": "Managed", "domain_name": username.rpartition("@")[2] or seed.TENANT_DOMAIN,
            "cloud_instance_name": base_url.split("//", 1)[-1], "cloud_audience_urn": "urn:federation:MicrosoftOnline"}


def handle_identity(store, issuer, base_url, request):
    """Answer an identity/metadata request, or return None when the path is not one of them."""
    adapter = IDENTITY_MAP.bind("emulator", path_info=request.path, url_scheme="https")
    try:
        endpoint, values = adapter.match(method=request.method)
    except HTTPException:  # NotFound / MethodNotAllowed: not an identity route
        return None
    tenant = values.get("tenant", "")
    if endpoint == "metadata":
        return metadata_response(base_url, request.args.get("api-version"))
    if endpoint == "adfs_openid":
        return _json(200, _adfs_configuration(base_url))
    if endpoint == "openid":
        if not _tenant_known(tenant):
            return _tenant_not_found(tenant)
        return _json(200, _openid_configuration(base_url, tenant))
    if endpoint == "instance_discovery":
        authority = f"{base_url}/{tenant}"
        return _json(200, {"tenant_discovery_endpoint": f"{authority}/v2.0/.well-known/openid-configuration",
                           "api-version": "1.1",
                           "metadata": [{"preferred_network": base_url.split("//", 1)[-1],
                                         "preferred_cache": base_url.split("//", 1)[-1],
                                         "aliases": [base_url.split("//", 1)[-1]]}]})
    if endpoint == "keys":
        return _json(200, {"keys": []})
    if endpoint == "user_realm":
        return _json(200, _user_realm(base_url, values["username"]))
    with store.lock:
        return _token(store, issuer, base_url, tenant, request)
