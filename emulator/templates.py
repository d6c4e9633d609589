"""The part of the ARM template language that role-assignment templates use: template expressions and parameters.

Expressions (a string that starts with ``[`` and ends with ``]``; ``[[`` escapes a literal ``[``): function calls
with string, integer and nested-call arguments, and property access (``resourceGroup().location``). Functions:
``parameters``, ``variables``, ``resourceGroup``, ``subscription``, ``subscriptionResourceId``, ``resourceId``,
``concat``, ``toLower``, ``toUpper``. Anything else is ARM's ``InvalidTemplate``, with the expression named.
"""

import re
from dataclasses import dataclass, field

from emulator.arm import ArmError

_TOKEN = re.compile(r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|"
                    r"(?P<punct>[(),.]))")


def invalid_template(message):
    return ArmError(400, "InvalidTemplate", f"Deployment template validation failed: '{message}'.")


@dataclass
class Context:
    """What expressions of one template see: its parameters and variables, and where it deploys."""

    subscription_id: str
    resource_group: dict = None  # the resource group record, None for a subscription-level template
    parameters: dict = field(default_factory=dict)
    variables: dict = field(default_factory=dict)
    location: str = ""

    def call(self, name, args):
        function = _FUNCTIONS.get(name.lower())
        if function is None:
            raise invalid_template(f"The template function '{name}' is not supported")
        return function(self, *args)


def _parameter(context, name):
    if name not in context.parameters:
        raise invalid_template(f"The template parameter '{name}' is not found")
    return context.parameters[name]


def _variable(context, name):
    if name not in context.variables:
        raise invalid_template(f"The template variable '{name}' is not found")
    return evaluate(context.variables[name], context)


def _resource_group(context):
    if context.resource_group is None:
        raise invalid_template("The template function 'resourceGroup' is not expected at this location")
    group = context.resource_group
    return {"id": group["id"], "name": group["name"], "location": group["location"], "type":
            "Microsoft.Resources/resourceGroups", "properties": {"provisioningState": "Succeeded"}}


def _subscription(context):
    return {"id": f"/subscriptions/{context.subscription_id}", "subscriptionId": context.subscription_id}


def _type_and_names(args):
    resource_type, names = args[0], list(args[1:])
    segments = resource_type.split("/")
    parts = [segments[0], segments[1], names[0]] if names else segments
    for child, name in zip(segments[2:], names[1:], strict=False):
        parts += [child, name]
    return "/".join(parts)


def _subscription_resource_id(context, *args):
    subscription = context.subscription_id
    if args and re.match(r"^[0-9a-fA-F-]{36}$", args[0]) and "/" not in args[0]:
        subscription, args = args[0], args[1:]
    return f"/subscriptions/{subscription}/providers/{_type_and_names(args)}"


def _resource_id(context, *args):
    if context.resource_group is None:
        return _subscription_resource_id(context, *args)
    return f"{context.resource_group['id']}/providers/{_type_and_names(args)}"


_FUNCTIONS = {
    "parameters": _parameter,
    "variables": _variable,
    "resourcegroup": _resource_group,
    "subscription": _subscription,
    "subscriptionresourceid": _subscription_resource_id,
    "resourceid": _resource_id,
    "concat": lambda _context, *args: "".join(str(arg) for arg in args),
    "tolower": lambda _context, text: str(text).lower(),
    "toupper": lambda _context, text: str(text).upper(),
}


class _Parser:
    def __init__(self, text):
        self.text = text
        self.tokens = []
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                if text[position:].strip() == "":
                    break
                raise invalid_template(f"The language expression '{text}' is not valid")
            kind = match.lastgroup
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.index = 0

    def peek(self):
        return self.tokens[self.index] if self.index < len(self.tokens) else (None, None)

    def take(self, value=None):
        token = self.peek()
        if token[0] is None or (value is not None and token[1] != value):
            raise invalid_template(f"The language expression '{self.text}' is not valid")
        self.index += 1
        return token

    def expression(self, context):
        kind, value = self.take()
        if kind == "string":
            result = value[1:-1].replace("''", "'")
        elif kind == "number":
            result = int(value)
        elif kind == "name":
            self.take("(")
            args = []
            if self.peek()[1] != ")":
                args.append(self.expression(context))
                while self.peek()[1] == ",":
                    self.take(",")
                    args.append(self.expression(context))
            self.take(")")
            result = context.call(value, args)
        else:
            raise invalid_template(f"The language expression '{self.text}' is not valid")
        while self.peek()[1] == ".":
            self.take(".")
            _kind, prop = self.take()
            if not isinstance(result, dict) or prop not in result:
                raise invalid_template(f"The language expression property '{prop}' doesn't exist")
            result = result[prop]
        return result


def evaluate(value, context):
    """A template value with every expression in it evaluated (strings, lists and objects)."""
    if isinstance(value, dict):
        return {key: evaluate(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [evaluate(item, context) for item in value]
    if not isinstance(value, str) or not value.startswith("[") or not value.endswith("]"):
        return value
    if value.startswith("[["):
        return value[1:]
    parser = _Parser(value[1:-1])
    result = parser.expression(context)
    if parser.peek()[0] is not None:
        raise invalid_template(f"The language expression '{value}' is not valid")
    return result


def bind_parameters(template, supplied, context):
    """The template's parameters: supplied ``{"name": {"value": ...}}`` values, else defaults (evaluated)."""
    declared = template.get("parameters") or {}
    if not isinstance(declared, dict) or not isinstance(supplied or {}, dict):
        raise invalid_template("The template parameters are not valid")
    unknown = sorted(set(supplied or {}) - set(declared))
    if unknown:
        raise invalid_template(f"The template parameters '{', '.join(unknown)}' in the parameters file are not "
                               "valid; they are not present in the original template")
    values = {}
    for name, spec in declared.items():
        given = (supplied or {}).get(name)
        if isinstance(given, dict) and "value" in given:
            value = given["value"]
        elif isinstance(spec, dict) and "defaultValue" in spec:
            value = evaluate(spec["defaultValue"], context)
        else:
            raise invalid_template(f"The value for the template parameter '{name}' is not provided")
        allowed = spec.get("allowedValues") if isinstance(spec, dict) else None
        if allowed and value not in allowed:
            raise invalid_template(f"The provided value '{value}' for the template parameter '{name}' is not valid. "
                                   f"The parameter value is not part of the allowed value(s): '{','.join(allowed)}'")
        values[name] = value
    return values
