# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a drill's messages and figures mean: pg_restore errors, the roles file, user checks, RPO and RTO."""

import datetime
import re

# Errors a managed target is known to give for a sound archive; they are warnings, not failures.
# Azure's restore guide lists both: extensions the server does not allow-list, and role attributes only a
# superuser may set (a managed server's admin is not one).
HARMLESS_PATTERNS = (
    ("extension_not_allow_listed", re.compile(r"extension \S+ is not allow-listed", re.I)),
    ("superuser_only", re.compile(r"must be superuser|permission denied to (alter|create) role|"
                                  r"only superusers? (may|can)", re.I)),
    ("role_exists", re.compile(r"role \S+ already exists", re.I)),
)

# Lines of the roles file Azure's guide drops before replay, and attributes it strips from ALTER ROLE.
ROLE_LINES_DROPPED = re.compile(r"azure_superuser|azure_pg_admin|azuresu|^(CREATE|ALTER) ROLE \"?replication\b", re.I)
ROLE_ATTRIBUTES_STRIPPED = re.compile(r"\s+(NOSUPERUSER|NOBYPASSRLS)\b")
ROLE_STATEMENT = re.compile(r'^(CREATE|ALTER) ROLE ("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)', re.I)


def classify(message):
    """(kind, harmless) of one error message; kind is ``other`` for anything not known to be harmless."""
    for kind, pattern in HARMLESS_PATTERNS:
        if pattern.search(message):
            return kind, True
    return "other", False


def pg_restore_messages(stderr):
    """The error entries of pg_restore's output, each with the lines that follow it (``Command was: ...``)."""
    entries = []
    for line in (stderr or "").splitlines():
        if line.startswith("pg_restore: error:"):
            entries.append(line[len("pg_restore: error:"):].strip())
        elif line.startswith("pg_restore: "):
            continue  # warnings such as "errors ignored on restore: N" summarise the errors already read
        elif entries and line.strip():
            entries[-1] += "\n" + line.strip()
    return entries


def pg_restore_outcome(database, file_name, returncode, stderr):
    """{passed, warnings, errors} of one pg_restore run; every error names the file."""
    warnings, errors = [], []
    for message in pg_restore_messages(stderr):
        kind, harmless = classify(message)
        text = "{0} ({1}): {2}".format(file_name, database, message.splitlines()[0])
        (warnings if harmless else errors).append(dict(kind=kind, database=database, file=file_name, message=text))
    if returncode != 0 and not errors and not warnings:
        last = (stderr or "").strip().splitlines()[-1:] or ["no message"]
        errors.append(dict(kind="other", database=database, file=file_name,
                           message="{0} ({1}): pg_restore exited with {2}: {3}".format(
                               file_name, database, returncode, last[0])))
    return dict(passed=not errors, warnings=warnings, errors=errors)


def clean_roles(text):
    """The roles file as Azure's guide replays it: Azure's own roles and replication dropped, and the
    NOSUPERUSER / NOBYPASSRLS attributes (which a non-superuser may not set) stripped from ALTER ROLE."""
    statements = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("--", "\\")) or ROLE_LINES_DROPPED.search(stripped):
            continue
        if stripped.upper().startswith("ALTER ROLE"):
            stripped = ROLE_ATTRIBUTES_STRIPPED.sub("", stripped)
        statements.append(stripped)
    return statements


def role_of(statement):
    """The role a CREATE ROLE / ALTER ROLE statement is about (unquoted), or None."""
    match = ROLE_STATEMENT.match(statement)
    if not match:
        return None
    name = match.group(2)
    return name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()


def parse_time(value):
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def parse_duration(value):
    """Seconds of an ISO 8601 day-time duration (``P1D``, ``PT12H``) or of a number of seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    match = _DURATION.match(str(value).strip().upper())
    if not match or not any(match.groups()):
        raise ValueError("'{0}' is not a duration such as P1D, PT12H or a number of seconds".format(value))
    days, hours, minutes, seconds = (float(part or 0) for part in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


OPERATORS = {
    "eq": (lambda got, want: got == want, "="),
    "ne": (lambda got, want: got != want, "!="),
    "gt": (lambda got, want: got > want, ">"),
    "ge": (lambda got, want: got >= want, ">="),
    "lt": (lambda got, want: got < want, "<"),
    "le": (lambda got, want: got <= want, "<="),
}


def _comparable(got, want):
    if isinstance(got, (int, float)) and not isinstance(got, bool):
        return got, float(want)
    if hasattr(got, "is_integer") or type(got).__name__ == "Decimal":
        return float(got), float(want)
    return str(got), str(want)


def evaluate_check(check, value, point_time):
    """{name, passed, value, expected, message} of one user check given the value its SQL returned."""
    operator = check.get("operator") or "ge"
    name = check["name"]
    if operator == "not_null":
        passed = value is not None
        expected = "not null"
    elif operator == "newer_than_point_minus":
        window = parse_duration(check.get("value", "P1D"))
        floor = parse_time(point_time) - datetime.timedelta(seconds=window)
        expected = "newer than {0}".format(floor.isoformat())
        passed = value is not None and parse_time(value) >= floor
    else:
        test, symbol = OPERATORS[operator]
        expected = "{0} {1}".format(symbol, check.get("value"))
        if value is None:
            passed = False
        else:
            got, want = _comparable(value, check.get("value"))
            passed = test(got, want)
    shown = value.isoformat() if isinstance(value, datetime.datetime) else value
    message = "check '{0}': {1} (expected {2})".format(name, shown, expected)
    return dict(name=name, database=check.get("database"), passed=passed, value=_plain(shown), expected=expected,
                message=message)


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if type(value).__name__ == "Decimal":
        return float(value)
    return str(value)


def threshold_results(rpo_seconds, rto_seconds, max_rpo_seconds, max_rto_seconds, point):
    """The RPO and RTO checks; a failure names the measured value and the threshold."""
    results = []
    if max_rpo_seconds:
        passed = rpo_seconds <= max_rpo_seconds
        message = "RPO {0}: recovery point {1} taken {2} is {3} old, {4} the threshold of {5}".format(
            "met" if passed else "exceeded", point.get("id"), point.get("time"), human_seconds(rpo_seconds),
            "within" if passed else "over", human_seconds(max_rpo_seconds))
        results.append(dict(name="rpo", passed=passed, value=rpo_seconds,
                            expected="<= {0}".format(human_seconds(max_rpo_seconds)), message=message))
    if max_rto_seconds:
        passed = rto_seconds is not None and rto_seconds <= max_rto_seconds
        results.append(dict(name="rto", passed=passed, value=rto_seconds, expected="<= {0}".format(
            human_seconds(max_rto_seconds)), message="RTO {0}: a queryable database after {1}, {2} the threshold "
            "of {3}".format("met" if passed else "exceeded", human_seconds(rto_seconds),
                            "within" if passed else "over", human_seconds(max_rto_seconds))))
    return results


def human_seconds(seconds):
    """``2d 3h``, ``1h 05m``, ``4m 10s``, ``12.3s``: a duration as people read it."""
    if seconds is None:
        return "n/a"
    seconds = float(seconds)
    if seconds < 60:
        return "{0:.1f}s".format(seconds)
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return "{0}d {1}h".format(days, hours)
    if hours:
        return "{0}h {1:02d}m".format(hours, minutes)
    return "{0}m {1:02d}s".format(minutes, secs)
