"""How resource modules plug into the emulator.

Each module in ``emulator/resources/`` declares its ARM routes, its seed data and its hooks with the
decorators below; ``load_resource_modules`` imports every module of that package, so adding a
resource type means adding one file.
"""

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

# Route handlers receive an ``arm.ArmRequest`` and return an ``arm.ArmResponse`` (or raise ``ArmError``).
Handler = Callable[[Any], Any]


@dataclass(frozen=True)
class Route:
    """One ARM route: a Werkzeug rule, the RBAC action it needs and the provider whose api-versions apply."""

    rule: str
    methods: tuple
    handler: Handler
    action: str
    provider: str
    # Optional override of the authorization scope; by default the request path is the scope, as in ARM.
    scope: Optional[Callable[[Any], str]] = None


@dataclass
class Registry:
    """Everything the resource modules contributed."""

    routes: list = field(default_factory=list)
    seeders: list = field(default_factory=list)
    clock_hooks: list = field(default_factory=list)
    hooks: dict = field(default_factory=dict)


REGISTRY = Registry()


def route(rule, methods, action, provider, scope=None):
    """Register an ARM handler; ``action`` is what the caller needs at the request scope (ARM's check)."""

    def decorate(handler):
        REGISTRY.routes.append(Route(rule, tuple(methods), handler, action, provider, scope))
        return handler

    return decorate


def seeder(order=50):
    """Register a function ``fn(store)`` that loads seed data on start and on reset (low ``order`` first)."""

    def decorate(fn):
        REGISTRY.seeders.append((order, fn))
        REGISTRY.seeders.sort(key=lambda item: item[0])
        return fn

    return decorate


def on_clock_advance(fn):
    """Register ``fn(store, before, after)``, called under the store lock when the simulated clock moves."""
    REGISTRY.clock_hooks.append(fn)
    return fn


def hook(name):
    """Register a named extension point implementation (e.g. ``vault_delete_blockers``)."""

    def decorate(fn):
        REGISTRY.hooks.setdefault(name, []).append(fn)
        return fn

    return decorate


def call_hooks(name, *args, **kwargs):
    """Call every implementation of a named hook and return their non-None results."""
    results = []
    for fn in REGISTRY.hooks.get(name, []):
        result = fn(*args, **kwargs)
        if result is not None:
            results.append(result)
    return results


_LOADED = []


def load_resource_modules():
    """Import every module of ``emulator.resources`` once, so their decorators run."""
    if _LOADED:
        return
    package = importlib.import_module("emulator.resources")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda item: item.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"emulator.resources.{info.name}")
    _LOADED.append(True)
