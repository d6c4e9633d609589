"""Control endpoints of restores and the data plane (``/_emulator/...``, loopback only).

- ``GET restores``: every restore so far: ``jobId``, ``status``, ``recoveryPoint``, ``instanceId``,
  ``storageAccount``, ``container``, ``prefix``, ``crossRegion``, ``written`` (true once the data plane
  uploaded real files) and ``files`` ([{name, size, database}]; without the data plane, the names a
  restore would write, sizes null).
- ``GET data-plane``: where PostgreSQL and Azurite listen (409 when ``--data-plane`` is off).
- ``GET recovery-points/<id>/content``: what a recovery point holds: per database its file, size, tables and
  row counts at backup time (404 for an unknown point; 409 when the data plane is off).
- ``POST damage {"recovery_point": id, "database": name}``: truncate that database's file of the recovery
  point (other points sharing the dump keep theirs), so a restore drill sees a broken archive.
"""

import json

from werkzeug.wrappers import Response

from emulator import dataplane


def _json(status, body):
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


def _data_plane_off():
    return _json(409, {"error": "the data plane is off: start the emulator with --data-plane"})


def handle(app, name, request):
    """The answer for these endpoints, or None for any other name."""
    method = request.method
    if name == "restores" and method == "GET":
        from emulator.resources.restore import restores  # pylint: disable=import-outside-toplevel  # no cycle

        with app.store.lock:
            return _json(200, restores(app.store))
    plane = dataplane.ACTIVE
    if name == "data-plane" and method == "GET":
        return _json(200, plane.describe()) if plane else _data_plane_off()
    parts = name.split("/")
    if len(parts) == 3 and parts[0] == "recovery-points" and parts[2] == "content" and method == "GET":
        if plane is None:
            return _data_plane_off()
        with app.store.lock:
            content = plane.dumps.describe(parts[1])
        if content is None:
            return _json(404, {"error": f"no content for recovery point '{parts[1]}'"})
        return _json(200, content)
    if name == "damage" and method == "POST":
        return _damage(app, plane, request)
    return None


def _damage(app, plane, request):
    if plane is None:
        return _data_plane_off()
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("recovery_point"), str) or \
            not isinstance(body.get("database"), str):
        return _json(400, {"error": "body must be {\"recovery_point\": \"<id>\", \"database\": \"<name>\"}"})
    with app.store.lock:
        if plane.dumps.content(body["recovery_point"]) is None:
            return _json(404, {"error": f"no content for recovery point '{body['recovery_point']}'"})
        try:
            return _json(200, plane.dumps.damage(body["recovery_point"], body["database"]))
        except KeyError:
            return _json(404, {"error": f"recovery point '{body['recovery_point']}' has no database "
                                        f"'{body['database']}'"})
