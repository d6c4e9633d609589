"""Local emulator of the Azure APIs used by the azbackup.dataprotection collection.

The emulator stands for Azure: the collection reaches it exactly as it would reach a sovereign cloud
(cloud metadata URL, Entra-style token endpoint, HTTPS with a CA it generates), and it never imports
anything from ``plugins/`` so that tests run against an independent implementation.

Why Werkzeug: it is a small, well-kept library that gives both WSGI request routing (``Map``/``Rule``)
and a threaded HTTPS server (``make_server(threaded=True, ssl_context=...)``) in one dependency, and
it keeps the code synchronous, which makes shared state, locks and long-running-operation timing easy
to reason about. Flask or an asyncio framework would add layers without adding anything we need.

Layout: ``server`` (dispatch, auth, RBAC, faults, request log), ``identity`` (metadata, OpenID, tokens),
``rbac`` (role model), ``lro`` (long-running operations), ``state`` (store, seed loader, clock),
``registry`` (how resource modules plug in) and one module per resource type in ``resources/``.
"""
