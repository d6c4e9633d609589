"""One module per resource type; ``registry.load_resource_modules`` imports each (names starting with ``_``
are helpers, not resource types)."""
