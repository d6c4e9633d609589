"""Request validation shared by the Microsoft.DataProtection resources: the service's user-error shape and the
field readers that raise it with the JSON path of the offending field.

The service answers input it rejects with HTTP 400 and a body whose ``additionalInfo`` holds a
``UserFacingError`` (code, message, recommendedAction, isUserError, target, ...); ``BMSUserErrorInvalidInput`` is
its code for malformed input (hashicorp/terraform-provider-azurerm#33493).
"""

from emulator.arm import ArmError, ci_get, new_guid

INVALID_INPUT = "BMSUserErrorInvalidInput"


def user_facing_error(code, message, recommended_action=None, inner_code=None, detail=None, details=None):
    """A UserFacingError object as the service fills it (``details``: nested UserFacingErrors, cause innermost)."""
    error = {"code": code, "details": details, "innerError": None, "isRetryable": False, "isUserError": True,
             "message": message, "properties": {"ActivityId": new_guid()},
             "recommendedAction": [recommended_action] if recommended_action else [], "target": ""}
    if inner_code or detail:
        error["innerError"] = {"code": inner_code or code,
                               "additionalInfo": {"DetailedNonLocalisedMessage": detail or message},
                               "embeddedInnerError": None}
    return error


def user_error(status, code, message, recommended, target="", detail=None):
    """An ARM error in the service's user-error shape (code + message + additionalInfo[UserFacingError])."""
    info = user_facing_error(code, message, recommended, detail=detail)
    info["target"] = target
    return ArmError(status, code, message, additionalInfo=[{"info": info, "type": "UserFacingError"}])


def invalid_input(message, target="", code=INVALID_INPUT):
    """400 for input the service rejects, naming the JSON path in ``target``."""
    return user_error(400, code, message, "Please check the required inputs", target)


def same(left, right):
    """Two ARM ids or names are the same (case and a trailing slash do not matter, as in ARM)."""
    return isinstance(left, str) and isinstance(right, str) and \
        left.strip().rstrip("/").lower() == right.strip().rstrip("/").lower()


def require_object(value, path, required=True):
    """A JSON object (None when optional and absent)."""
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        kind = "missing" if value is None else f"a {type(value).__name__}, not an object"
        raise invalid_input(f"'{path}' is {kind}; a JSON object is required.", path)
    return value


def require_string(value, path, required=True):
    """A non-empty string (None when optional and absent)."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise invalid_input(f"'{path}' is required: a non-empty string.", path)
    return value


def require_list(value, path, required=True):
    """A non-empty JSON array ([] when optional and absent)."""
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise invalid_input(f"'{path}' is required: a non-empty JSON array.", path)
    return value


def require_bool(value, path, required=False):
    if value is None and not required:
        return None
    if not isinstance(value, bool):
        raise invalid_input(f"'{path}' must be true or false.", path)
    return value


def enum_value(value, allowed, path, canonical=True):
    """An enum value matched without case: its canonical spelling, or as sent (``canonical=False``, what the
    vault resource echoes); 400 naming the path and the allowed values otherwise."""
    if isinstance(value, str):
        for item in allowed:
            if item.lower() == value.strip().lower():
                return item if canonical else value
    raise invalid_input(f"Invalid value '{value}' for '{path}'. Allowed values are: {', '.join(allowed)}.", path)


def object_type(raw, allowed, path):
    """The ``objectType`` discriminator of ``raw`` (one of ``allowed``, canonical spelling)."""
    kind = ci_get(raw, "objectType")
    if kind is None:
        raise invalid_input(f"'{path}.objectType' is required (one of {', '.join(allowed)}).", f"{path}.objectType")
    return enum_value(kind, allowed, f"{path}.objectType")
