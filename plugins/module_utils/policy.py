# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Backup policies for PostgreSQL Flexible Server: readable form, API body, validation and retention preview.

Pure functions on plain dicts (no Ansible, no Azure SDK), so the module, the info module and the unit tests
share one implementation.

Readable form (what users write)::

    schedule:
      days_of_week: [Sunday]          # one or more; backups are full backups to the vault store
      time: "02:00"                   # HH:MM, in the schedule's time zone
      timezone: UTC                   # optional, default UTC
    retention:
      default: {duration: P3M}        # required: backups that no other rule claims
      weekly:  {duration: P12W}       # optional; criteria default to the first backup of the week
      monthly: {duration: P12M}       # optional; first backup of the month, or
                                      #   weeks_of_month + days_of_week, or days_of_month
      yearly:  {duration: P10Y}       # optional; first backup of the year, or months_of_year with
                                      #   weeks_of_month + days_of_week, or with days_of_month

Decisions (each one is what the tests pin down):

* Repeating intervals. Azure wants one ISO 8601 repeating interval per day of the week
  (``R/<start>/P1W``). The start comes from one fixed reference week, Sunday 2024-01-07 to Saturday
  2024-01-13 (the week of the project guide's example; the Azure CLI template uses another Sunday,
  2021-08-15), so the same readable schedule always gives the same body: Sunday 02:00 UTC is
  ``R/2024-01-07T02:00:00+00:00/P1W``, Monday is ``R/2024-01-08T...``. The offset is the time zone's
  real UTC offset at that moment (``+01:00`` for W. Europe Standard Time in January), so the start is
  correct both as an instant and as a wall-clock time. When comparing with the service, only the
  weekday, the wall-clock time and the period count: a policy made in the portal with another start
  date on the same weekday is unchanged.
* Time zones. Accepted: ``UTC``; Windows time zone ids (``W. Europe Standard Time``), which is what
  Azure Backup stores in ``schedule.timeZone``; and IANA names (``Europe/Berlin``) that map to one of
  those ids. The body always carries the Windows id (or ``UTC``). The table below is the CLDR
  windowsZones mapping (territory 001) plus common IANA aliases; computing times in a zone other than
  UTC needs ``zoneinfo`` (Python 3.9+) and the system time zone database.
* Scheduled times follow the wall clock in the policy's time zone: 02:00 stays 02:00 across daylight
  saving changes. Expiry is the backup's UTC instant plus the rule's duration (the service keeps and
  reports expiry times in UTC), calendar arithmetic for years and months (the day is clamped to the
  month's end: 31 January + P1M is 29 February in a leap year).
* Weeks start on Sunday (``WEEK_START``): Azure does not document it; .NET's DayOfWeek, which the
  service runs on, counts from Sunday. It matters only for ``FirstOfWeek`` when more than one day of the
  week is scheduled (with one day, every backup is the first of its week).
* Tagging: a backup gets the tag with the lowest ``taggingPriority`` whose criteria match, else the
  default tag. ``FirstOfWeek``/``FirstOfMonth``/``FirstOfYear``/``FirstOfDay`` match the first
  *successful* scheduled backup of that calendar period in the policy's time zone, whatever tag that
  backup ends up with; the preview assumes protection starts at ``start`` (or ``protected_since``), so
  the first backup it shows is the first of its week, month and year. Within one criterion every field
  that is set must match (``weeksOfTheMonth`` First..Fourth = day 1-7, 8-14, 15-21, 22-28 of the month;
  Last = the last seven days); a tag matches when any of its criteria does. ``scheduleTimes`` is ignored.
* ``days_of_month`` with a schedule that does not run every day is an error: with Sunday backups, the
  15th is a backup day in only one or two months a year, which silently breaks a monthly rule. Days of
  the week that a rule names must be scheduled days (otherwise the rule never matches).
* ``retention.default`` is required and has no default here (the Azure tools use P3M); the user never
  sets priorities: Yearly 10, Monthly 15, Weekly 20, Default 99 (the datasource record's ``tag_priorities``). A rule
  with a higher priority but a shorter duration than a rule it takes backups from is a warning.
* Comparison with the service (``bodies_equal``) ignores what the service adds (``tagInfo.id``, ``eTag``,
  resource id/name/type, unknown fields), enum case, list order, the duration spelling (P1Y == P12M)
  and the start date of the repeating intervals (only weekday, wall-clock time and period count).
"""

import calendar
import json
import re
from collections import namedtuple
from datetime import date, datetime, timedelta, timezone

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
except ImportError:  # Python < 3.9: only UTC can be computed; see resolve_time_zone()
    ZoneInfo = None
    ZoneInfoNotFoundError = LookupError

from ansible_collections.azbackup.dataprotection.plugins.module_utils import datasources
from ansible_collections.azbackup.dataprotection.plugins.module_utils.contract import InputError

DAYS_OF_WEEK = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKS_OF_MONTH = ("First", "Second", "Third", "Fourth", "Last")
WEEK_START = "Sunday"
REFERENCE_SUNDAY = date(2024, 1, 7)
DEFAULT_TIME_ZONE = "UTC"

# Readable rule key -> tag (and retention rule) name; priorities come from the datasource file.
RULE_TAGS = (("default", "Default"), ("weekly", "Weekly"), ("monthly", "Monthly"), ("yearly", "Yearly"))
TAG_OF_RULE = dict(RULE_TAGS)
RULE_OF_TAG = dict((tag, key) for key, tag in RULE_TAGS)
FIRST_OF = {"Weekly": "FirstOfWeek", "Monthly": "FirstOfMonth", "Yearly": "FirstOfYear"}

ABSOLUTE_MARKERS = ("AllBackup", "FirstOfDay", "FirstOfWeek", "FirstOfMonth", "FirstOfYear")
OBJECT_TYPES = (
    "BackupPolicy",
    "AzureBackupRule",
    "AzureRetentionRule",
    "AzureBackupParams",
    "DataStoreInfoBase",
    "ScheduleBasedTriggerContext",
    "AdhocBasedTriggerContext",
    "ScheduleBasedBackupCriteria",
    "AbsoluteDeleteOption",
    "CopyOnExpiryOption",
    "CustomCopyOption",
    "ImmediateCopyOption",
)
DATASTORE_TYPES = ("OperationalStore", "VaultStore", "ArchiveStore")
BACKUP_TYPES = ("Full", "Incremental", "Differential", "Log")

# Windows time zone id -> IANA zone (CLDR windowsZones, territory 001).
WINDOWS_TIME_ZONES = {
    "Dateline Standard Time": "Etc/GMT+12",
    "UTC-11": "Etc/GMT+11",
    "Aleutian Standard Time": "America/Adak",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Marquesas Standard Time": "Pacific/Marquesas",
    "Alaskan Standard Time": "America/Anchorage",
    "UTC-09": "Etc/GMT+9",
    "Pacific Standard Time (Mexico)": "America/Tijuana",
    "UTC-08": "Etc/GMT+8",
    "Pacific Standard Time": "America/Los_Angeles",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time (Mexico)": "America/Mazatlan",
    "Mountain Standard Time": "America/Denver",
    "Yukon Standard Time": "America/Whitehorse",
    "Central America Standard Time": "America/Guatemala",
    "Central Standard Time": "America/Chicago",
    "Easter Island Standard Time": "Pacific/Easter",
    "Central Standard Time (Mexico)": "America/Mexico_City",
    "Canada Central Standard Time": "America/Regina",
    "SA Pacific Standard Time": "America/Bogota",
    "Eastern Standard Time (Mexico)": "America/Cancun",
    "Eastern Standard Time": "America/New_York",
    "Haiti Standard Time": "America/Port-au-Prince",
    "Cuba Standard Time": "America/Havana",
    "US Eastern Standard Time": "America/Indiana/Indianapolis",
    "Turks And Caicos Standard Time": "America/Grand_Turk",
    "Paraguay Standard Time": "America/Asuncion",
    "Atlantic Standard Time": "America/Halifax",
    "Venezuela Standard Time": "America/Caracas",
    "Central Brazilian Standard Time": "America/Cuiaba",
    "SA Western Standard Time": "America/La_Paz",
    "Pacific SA Standard Time": "America/Santiago",
    "Newfoundland Standard Time": "America/St_Johns",
    "Tocantins Standard Time": "America/Araguaina",
    "E. South America Standard Time": "America/Sao_Paulo",
    "SA Eastern Standard Time": "America/Cayenne",
    "Argentina Standard Time": "America/Argentina/Buenos_Aires",
    "Greenland Standard Time": "America/Nuuk",
    "Montevideo Standard Time": "America/Montevideo",
    "Magallanes Standard Time": "America/Punta_Arenas",
    "Saint Pierre Standard Time": "America/Miquelon",
    "Bahia Standard Time": "America/Bahia",
    "UTC-02": "Etc/GMT+2",
    "Azores Standard Time": "Atlantic/Azores",
    "Cape Verde Standard Time": "Atlantic/Cape_Verde",
    "UTC": "Etc/UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "Sao Tome Standard Time": "Africa/Sao_Tome",
    "Morocco Standard Time": "Africa/Casablanca",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Romance Standard Time": "Europe/Paris",
    "Central European Standard Time": "Europe/Warsaw",
    "W. Central Africa Standard Time": "Africa/Lagos",
    "Jordan Standard Time": "Asia/Amman",
    "GTB Standard Time": "Europe/Bucharest",
    "Middle East Standard Time": "Asia/Beirut",
    "Egypt Standard Time": "Africa/Cairo",
    "E. Europe Standard Time": "Europe/Chisinau",
    "Syria Standard Time": "Asia/Damascus",
    "West Bank Standard Time": "Asia/Hebron",
    "South Africa Standard Time": "Africa/Johannesburg",
    "FLE Standard Time": "Europe/Kiev",
    "Israel Standard Time": "Asia/Jerusalem",
    "South Sudan Standard Time": "Africa/Juba",
    "Kaliningrad Standard Time": "Europe/Kaliningrad",
    "Sudan Standard Time": "Africa/Khartoum",
    "Libya Standard Time": "Africa/Tripoli",
    "Namibia Standard Time": "Africa/Windhoek",
    "Arabic Standard Time": "Asia/Baghdad",
    "Turkey Standard Time": "Europe/Istanbul",
    "Arab Standard Time": "Asia/Riyadh",
    "Belarus Standard Time": "Europe/Minsk",
    "Russian Standard Time": "Europe/Moscow",
    "E. Africa Standard Time": "Africa/Nairobi",
    "Volgograd Standard Time": "Europe/Volgograd",
    "Iran Standard Time": "Asia/Tehran",
    "Arabian Standard Time": "Asia/Dubai",
    "Astrakhan Standard Time": "Europe/Astrakhan",
    "Azerbaijan Standard Time": "Asia/Baku",
    "Russia Time Zone 3": "Europe/Samara",
    "Mauritius Standard Time": "Indian/Mauritius",
    "Saratov Standard Time": "Europe/Saratov",
    "Georgian Standard Time": "Asia/Tbilisi",
    "Caucasus Standard Time": "Asia/Yerevan",
    "Afghanistan Standard Time": "Asia/Kabul",
    "West Asia Standard Time": "Asia/Tashkent",
    "Ekaterinburg Standard Time": "Asia/Yekaterinburg",
    "Pakistan Standard Time": "Asia/Karachi",
    "Qyzylorda Standard Time": "Asia/Qyzylorda",
    "India Standard Time": "Asia/Kolkata",
    "Sri Lanka Standard Time": "Asia/Colombo",
    "Nepal Standard Time": "Asia/Kathmandu",
    "Central Asia Standard Time": "Asia/Almaty",
    "Bangladesh Standard Time": "Asia/Dhaka",
    "Omsk Standard Time": "Asia/Omsk",
    "Myanmar Standard Time": "Asia/Yangon",
    "SE Asia Standard Time": "Asia/Bangkok",
    "Altai Standard Time": "Asia/Barnaul",
    "W. Mongolia Standard Time": "Asia/Hovd",
    "North Asia Standard Time": "Asia/Krasnoyarsk",
    "N. Central Asia Standard Time": "Asia/Novosibirsk",
    "Tomsk Standard Time": "Asia/Tomsk",
    "China Standard Time": "Asia/Shanghai",
    "North Asia East Standard Time": "Asia/Irkutsk",
    "Singapore Standard Time": "Asia/Singapore",
    "W. Australia Standard Time": "Australia/Perth",
    "Taipei Standard Time": "Asia/Taipei",
    "Ulaanbaatar Standard Time": "Asia/Ulaanbaatar",
    "Aus Central W. Standard Time": "Australia/Eucla",
    "Transbaikal Standard Time": "Asia/Chita",
    "Tokyo Standard Time": "Asia/Tokyo",
    "North Korea Standard Time": "Asia/Pyongyang",
    "Korea Standard Time": "Asia/Seoul",
    "Yakutsk Standard Time": "Asia/Yakutsk",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "AUS Central Standard Time": "Australia/Darwin",
    "E. Australia Standard Time": "Australia/Brisbane",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "West Pacific Standard Time": "Pacific/Port_Moresby",
    "Tasmania Standard Time": "Australia/Hobart",
    "Vladivostok Standard Time": "Asia/Vladivostok",
    "Lord Howe Standard Time": "Australia/Lord_Howe",
    "Bougainville Standard Time": "Pacific/Bougainville",
    "Russia Time Zone 10": "Asia/Srednekolymsk",
    "Magadan Standard Time": "Asia/Magadan",
    "Norfolk Standard Time": "Pacific/Norfolk",
    "Sakhalin Standard Time": "Asia/Sakhalin",
    "Central Pacific Standard Time": "Pacific/Guadalcanal",
    "Russia Time Zone 11": "Asia/Kamchatka",
    "New Zealand Standard Time": "Pacific/Auckland",
    "UTC+12": "Etc/GMT-12",
    "Fiji Standard Time": "Pacific/Fiji",
    "Chatham Islands Standard Time": "Pacific/Chatham",
    "UTC+13": "Etc/GMT-13",
    "Tonga Standard Time": "Pacific/Tongatapu",
    "Samoa Standard Time": "Pacific/Apia",
    "Line Islands Standard Time": "Pacific/Kiritimati",
}

# IANA names users commonly type that are not the primary zone of a Windows id above.
IANA_ALIASES = {
    "UTC": "UTC",
    "Etc/UTC": "UTC",
    "Etc/UCT": "UTC",
    "Etc/Universal": "UTC",
    "Etc/Zulu": "UTC",
    "Universal": "UTC",
    "Zulu": "UTC",
    "Coordinated Universal Time": "UTC",
    "Europe/Amsterdam": "W. Europe Standard Time",
    "Europe/Rome": "W. Europe Standard Time",
    "Europe/Vienna": "W. Europe Standard Time",
    "Europe/Zurich": "W. Europe Standard Time",
    "Europe/Stockholm": "W. Europe Standard Time",
    "Europe/Oslo": "W. Europe Standard Time",
    "Europe/Luxembourg": "W. Europe Standard Time",
    "Europe/Monaco": "W. Europe Standard Time",
    "Europe/Madrid": "Romance Standard Time",
    "Europe/Brussels": "Romance Standard Time",
    "Europe/Copenhagen": "Romance Standard Time",
    "Europe/Prague": "Central Europe Standard Time",
    "Europe/Belgrade": "Central Europe Standard Time",
    "Europe/Bratislava": "Central Europe Standard Time",
    "Europe/Ljubljana": "Central Europe Standard Time",
    "Europe/Sarajevo": "Central European Standard Time",
    "Europe/Zagreb": "Central European Standard Time",
    "Europe/Skopje": "Central European Standard Time",
    "Europe/Kyiv": "FLE Standard Time",
    "Europe/Helsinki": "FLE Standard Time",
    "Europe/Riga": "FLE Standard Time",
    "Europe/Sofia": "FLE Standard Time",
    "Europe/Tallinn": "FLE Standard Time",
    "Europe/Vilnius": "FLE Standard Time",
    "Europe/Athens": "GTB Standard Time",
    "Europe/Dublin": "GMT Standard Time",
    "Europe/Lisbon": "GMT Standard Time",
    "Asia/Calcutta": "India Standard Time",
    "Asia/Katmandu": "Nepal Standard Time",
    "Asia/Rangoon": "Myanmar Standard Time",
    "Asia/Hong_Kong": "China Standard Time",
    "Asia/Kuala_Lumpur": "Singapore Standard Time",
    "Asia/Manila": "Singapore Standard Time",
    "Asia/Jakarta": "SE Asia Standard Time",
    "Asia/Ho_Chi_Minh": "SE Asia Standard Time",
    "America/Toronto": "Eastern Standard Time",
    "America/Detroit": "Eastern Standard Time",
    "America/Vancouver": "Pacific Standard Time",
    "America/Edmonton": "Mountain Standard Time",
    "America/Winnipeg": "Central Standard Time",
    "America/Indianapolis": "US Eastern Standard Time",
    "America/Buenos_Aires": "Argentina Standard Time",
    "America/Godthab": "Greenland Standard Time",
    "America/Lima": "SA Pacific Standard Time",
    "Australia/Melbourne": "AUS Eastern Standard Time",
    "Australia/Canberra": "AUS Eastern Standard Time",
    "Africa/Lagos": "W. Central Africa Standard Time",
}

_UTC_NAMES = frozenset(name.lower() for name, windows in IANA_ALIASES.items() if windows == "UTC")
_WINDOWS_BY_LOWER = dict((name.lower(), name) for name in WINDOWS_TIME_ZONES)
_IANA_TO_WINDOWS = dict((iana.lower(), windows) for windows, iana in WINDOWS_TIME_ZONES.items())
_IANA_TO_WINDOWS.update((iana.lower(), windows) for iana, windows in IANA_ALIASES.items())

_DURATION_RE = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$", re.IGNORECASE)
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_INTERVAL_RE = re.compile(r"^R/([^/]+)/([^/]+)$", re.IGNORECASE)
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})?$", re.IGNORECASE
)


class PolicyError(InputError):
    """A policy that cannot be sent to Azure; ``field`` names the option (``retention.monthly.duration``)."""

    def __init__(self, field, message):
        super().__init__("{0}: {1}".format(field, message), option=field, field=field)
        self.field = field
        self.message = message


# --------------------------------------------------------------------------------------------------------------
# Durations


class Duration(namedtuple("Duration", ["years", "months", "weeks", "days"])):
    """An ISO 8601 date duration (no time part), as Azure retention rules use them."""

    __slots__ = ()

    def __str__(self):
        parts = [
            "{0}{1}".format(value, unit)
            for value, unit in ((self.years, "Y"), (self.months, "M"), (self.weeks, "W"), (self.days, "D"))
            if value
        ]
        return "P" + "".join(parts) if parts else "P0D"

    @property
    def total_months(self):
        return self.years * 12 + self.months

    @property
    def total_days(self):
        return self.weeks * 7 + self.days

    def key(self):
        """What two durations must share to mean the same retention: P1Y == P12M, P2W == P14D."""
        return (self.total_months, self.total_days)

    def nominal_days(self):
        """Average length in days (Gregorian year), to compare durations that mix months and days."""
        return self.total_months * 365.2425 / 12 + self.total_days


_RECORD_MAXIMUM = "the datasource's maximum retention"


def _record(datasource=None):
    """The datasource record whose policy constraints apply: the one given, else the registry's default."""
    return datasource or datasources.default()


def parse_duration(text, field="duration", maximum=_RECORD_MAXIMUM):
    """Parse ``PnYnMnWnD`` (case-insensitive) into a Duration; reject time parts, zero and more than ``maximum``
    (by default the record's ``max_retention_years``; None: no maximum)."""
    if maximum is _RECORD_MAXIMUM:
        maximum = Duration(_record().max_retention_years, 0, 0, 0)
    if isinstance(text, Duration):
        duration = text
    else:
        if not isinstance(text, str):
            raise PolicyError(field, "expected an ISO 8601 duration such as P12W, got {0!r}".format(text))
        stripped = text.strip()
        if stripped.upper().startswith("P") and "T" in stripped.upper():
            raise PolicyError(
                field,
                "{0!r}: hours, minutes and seconds are not supported; use days (P7D), "
                "weeks (P12W), months (P12M) or years (P10Y)".format(text),
            )
        match = _DURATION_RE.match(stripped)
        if not match or not any(match.groups()):
            raise PolicyError(field, "{0!r} is not an ISO 8601 duration such as P30D, P12W, P12M or P10Y".format(text))
        duration = Duration(*(int(part or 0) for part in match.groups()))
    if duration.nominal_days() <= 0:
        raise PolicyError(field, "{0!r}: a retention duration must be longer than zero".format(text))
    if maximum is not None and duration.nominal_days() > maximum.nominal_days():
        raise PolicyError(
            field,
            "{0} is longer than the maximum retention of {1} ({2} years)".format(
                duration, maximum, maximum.years
            ),
        )
    return duration


def add_duration(when, duration):
    """Return ``when`` + ``duration``: calendar months and years (day clamped to month end), then days.

    Arithmetic is on the wall clock of ``when``'s time zone; a result in a daylight-saving gap is moved
    to the next valid time.
    """
    if isinstance(duration, str):
        duration = parse_duration(duration, maximum=None)
    months = when.month - 1 + duration.total_months
    year = when.year + months // 12
    month = months % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    result = when.replace(year=year, month=month, day=day) + timedelta(days=duration.total_days)
    return _real_time(result)


def _real_time(when):
    """Resolve a wall-clock time that does not exist (DST gap) or is ambiguous to one real instant."""
    if when.tzinfo is None:
        return when
    return when.astimezone(timezone.utc).astimezone(when.tzinfo)


# --------------------------------------------------------------------------------------------------------------
# Time zones

TimeZone = namedtuple("TimeZone", ["azure_name", "iana_name", "tzinfo"])


def resolve_time_zone(name, field="schedule.timezone"):
    """Resolve ``UTC``, a Windows time zone id or an IANA name; return ``TimeZone(azure_name, iana, tzinfo)``.

    ``azure_name`` is what goes into ``schedule.timeZone`` (the Windows id, or ``UTC``).
    """
    if name is None:
        name = DEFAULT_TIME_ZONE
    if not isinstance(name, str) or not name.strip():
        raise PolicyError(field, "expected a time zone name such as UTC or W. Europe Standard Time")
    text = name.strip()
    lower = text.lower()
    if lower in _UTC_NAMES:
        return TimeZone("UTC", "UTC", timezone.utc)
    if lower in _WINDOWS_BY_LOWER:
        windows = _WINDOWS_BY_LOWER[lower]
    elif lower in _IANA_TO_WINDOWS:
        windows = _IANA_TO_WINDOWS[lower]
    else:
        hint = ""
        if ZoneInfo is not None and _zone_or_none(text) is not None:
            hint = " ({0} is an IANA zone, but it has no Windows time zone id known to this collection)".format(text)
        raise PolicyError(
            field,
            "unknown time zone {0!r}{1}; use UTC, a Windows time zone id such as "
            "'W. Europe Standard Time', or an IANA name such as Europe/Berlin".format(text, hint),
        )
    if windows == "UTC":
        return TimeZone("UTC", "UTC", timezone.utc)
    iana = WINDOWS_TIME_ZONES[windows]
    if ZoneInfo is None:
        raise PolicyError(field, "time zone {0!r} needs Python 3.9 or later (zoneinfo); use UTC".format(text))
    tzinfo = _zone_or_none(iana)
    if tzinfo is None:
        raise PolicyError(
            field,
            "time zone {0!r} ({1}) is missing from this system's time zone database; install tzdata or use UTC".format(
                text, iana
            ),
        )
    return TimeZone(windows, iana, tzinfo)


def _zone_or_none(iana):
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        return None


# --------------------------------------------------------------------------------------------------------------
# Readable form: parsing and validation

Plan = namedtuple("Plan", ["days", "hour", "minute", "zone", "rules", "warnings"])
Rule = namedtuple("Rule", ["tag", "duration", "criteria"])  # criteria: None (FirstOf*) or dict of API fields

_SCHEDULE_KEYS = ("days_of_week", "time", "timezone", "frequency")
_CRITERIA_KEYS = ("days_of_week", "weeks_of_month", "months_of_year", "days_of_month")
_ALLOWED_CRITERIA = {
    "default": (),
    "weekly": ("days_of_week",),
    "monthly": ("days_of_week", "weeks_of_month", "days_of_month"),
    "yearly": _CRITERIA_KEYS,
}


def validate_readable(schedule, retention):
    """Check the readable form; raise PolicyError on the first error, return the list of warnings."""
    return _plan(schedule, retention).warnings


def _plan(schedule, retention):
    days, hour, minute, zone = _parse_schedule(schedule)
    if not isinstance(retention, dict):
        raise PolicyError("retention", "expected a dictionary with at least a default rule")
    for key, value in retention.items():
        if key not in TAG_OF_RULE and value is not None:
            raise PolicyError(
                "retention.{0}".format(key),
                "unknown retention rule; expected default, weekly, "
                "monthly or yearly (priorities are set automatically)",
            )
    if retention.get("default") is None:
        raise PolicyError("retention.default", "required: how long backups that no other rule keeps are retained")
    rules = []
    for key, tag in RULE_TAGS:
        if retention.get(key) is not None:
            rules.append(_parse_rule(key, tag, retention[key], days))
    plan = Plan(days, hour, minute, zone, tuple(rules), [])
    plan.warnings.extend(_shadow_warnings(plan))
    return plan


def _parse_schedule(schedule):
    if not isinstance(schedule, dict):
        raise PolicyError("schedule", "expected a dictionary with days_of_week and time")
    for key, value in schedule.items():
        if key not in _SCHEDULE_KEYS and value is not None:
            raise PolicyError("schedule.{0}".format(key), "unknown option; expected days_of_week, time, timezone")
    frequency = schedule.get("frequency")
    if frequency is not None and str(frequency).lower() != "weekly":
        raise PolicyError(
            "schedule.frequency",
            "{0!r} is not supported: {1} backups run on a weekly schedule (one or more days of the week)".format(
                frequency, _record().label
            ),
        )
    days = _choices(schedule.get("days_of_week"), DAYS_OF_WEEK, "schedule.days_of_week", "a day of the week")
    if not days:
        raise PolicyError("schedule.days_of_week", "required: at least one day of the week, such as Sunday")
    text = schedule.get("time")
    match = _TIME_RE.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise PolicyError("schedule.time", "expected the time of day as HH:MM (24 hours), got {0!r}".format(text))
    zone = resolve_time_zone(schedule.get("timezone"))
    return days, int(match.group(1)), int(match.group(2)), zone


def _parse_rule(key, tag, rule, scheduled_days):
    field = "retention.{0}".format(key)
    if not isinstance(rule, dict):
        raise PolicyError(field, "expected a dictionary with a duration")
    for name, value in rule.items():
        if name != "duration" and name not in _ALLOWED_CRITERIA[key] and value is not None:
            allowed = ", ".join(("duration",) + _ALLOWED_CRITERIA[key])
            raise PolicyError(
                "{0}.{1}".format(field, name),
                "not an option of the {0} rule (allowed: {1}); priorities are set automatically".format(key, allowed),
            )
    if rule.get("duration") is None:
        raise PolicyError(field + ".duration", "required, for example P12W")
    duration = parse_duration(rule["duration"], field + ".duration")
    if key == "default":
        return Rule(tag, duration, None)

    dows = _choices(rule.get("days_of_week"), DAYS_OF_WEEK, field + ".days_of_week", "a day of the week")
    weeks = _choices(rule.get("weeks_of_month"), WEEKS_OF_MONTH, field + ".weeks_of_month", "a week of the month")
    months = _choices(rule.get("months_of_year"), MONTHS, field + ".months_of_year", "a month")
    dates = _days_of_month(rule.get("days_of_month"), field + ".days_of_month")
    if not (dows or weeks or months or dates):
        return Rule(tag, duration, None)

    if key == "yearly" and not months:
        raise PolicyError(field + ".months_of_year", "required when the yearly rule names days: in which months?")
    if key == "yearly" and not (dows or dates):
        raise PolicyError(
            field + ".months_of_year",
            "also name the day: weeks_of_month with days_of_week (e.g. First Sunday), or days_of_month",
        )
    if dates and (dows or weeks):
        raise PolicyError(
            field + ".days_of_month", "choose either days_of_month or weeks_of_month with days_of_week, not both"
        )
    if key != "weekly" and dows and not weeks:
        raise PolicyError(
            field + ".weeks_of_month",
            "required with days_of_week in the {0} rule (e.g. First, Last); "
            "without it every such backup would be kept".format(key),
        )
    if weeks and not dows:
        raise PolicyError(field + ".days_of_week", "required with weeks_of_month (e.g. First Sunday)")
    for day in dows:
        if day not in scheduled_days:
            raise PolicyError(
                field + ".days_of_week",
                "{0} is not a scheduled backup day (schedule.days_of_week: {1}), so this rule could never match".format(
                    day, ", ".join(scheduled_days)
                ),
            )
    if dates and len(scheduled_days) < 7:
        raise PolicyError(
            field + ".days_of_month",
            "backups run only on {0}, so a given day of the month is a "
            "backup day only in some months; use weeks_of_month with "
            "days_of_week, or leave the criteria out (first backup of the "
            "{1})".format(", ".join(scheduled_days), key[:-2]),
        )
    criteria = {}
    if months:
        criteria["monthsOfYear"] = list(months)
    if weeks:
        criteria["weeksOfTheMonth"] = list(weeks)
    if dows:
        criteria["daysOfTheWeek"] = list(dows)
    if dates:
        criteria["daysOfMonth"] = [
            {"isLast": True} if day == "Last" else {"date": day, "isLast": False} for day in dates
        ]
    return Rule(tag, duration, criteria)


def _choices(values, allowed, field, what):
    """Canonical spellings of ``values`` (case-insensitive), in the order of ``allowed``; reject duplicates."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    by_lower = dict((choice.lower(), choice) for choice in allowed)
    seen = []
    for value in values:
        canonical = by_lower.get(str(value).strip().lower())
        if canonical is None:
            raise PolicyError(field, "{0!r} is not {1} (expected one of {2})".format(value, what, ", ".join(allowed)))
        if canonical in seen:
            raise PolicyError(field, "{0} is listed twice".format(canonical))
        seen.append(canonical)
    return tuple(choice for choice in allowed if choice in seen)


def _days_of_month(values, field):
    """Days 1-28 and ``Last``, sorted, duplicates rejected (29-31 do not exist in every month)."""
    if values is None:
        return ()
    if isinstance(values, (str, int)):
        values = [values]
    seen = []
    for value in values:
        text = str(value).strip()
        if text.lower() == "last":
            day = "Last"
        elif text.isdigit() and not isinstance(value, bool) and 1 <= int(text) <= 28:
            day = int(text)
        else:
            raise PolicyError(field, "{0!r} is not a day of the month: use 1 to 28, or Last".format(value))
        if day in seen:
            raise PolicyError(field, "{0} is listed twice".format(day))
        seen.append(day)
    return tuple(sorted(seen, key=lambda day: 99 if day == "Last" else day))


def _shadow_warnings(plan):
    """Warn when a higher-priority rule keeps shorter than a lower-priority rule it takes backups from."""
    rules = [rule for rule in plan.rules if rule.tag != "Default"]
    if len(rules) < 2:
        return []
    body = _body_from_plan(plan, _record().arm_type)
    model = _model(body)
    start = datetime(REFERENCE_SUNDAY.year, REFERENCE_SUNDAY.month, REFERENCE_SUNDAY.day, tzinfo=model.zone.tzinfo)
    times = _scheduled_times(model, start, add_duration(start, Duration(8, 0, 0, 0)))
    matches = _all_matches(model, times)
    warnings = []
    for high in sorted(rules, key=_priority):
        for low in sorted(rules, key=_priority):
            if _priority(high) >= _priority(low) or high.duration.nominal_days() >= low.duration.nominal_days():
                continue
            if any(high.tag in tags and low.tag in tags for tags in matches):
                warnings.append(
                    "retention.{0}.duration: {1} is shorter than retention.{2}.duration {3}; backups that match "
                    "both rules get the {4} tag (higher priority) and are deleted sooner than other {5} "
                    "backups".format(
                        RULE_OF_TAG[high.tag],
                        high.duration,
                        RULE_OF_TAG[low.tag],
                        low.duration,
                        high.tag,
                        low.tag.lower(),
                    )
                )
    return warnings


def _priority(rule):
    return _record().tag_priorities[rule.tag]


# --------------------------------------------------------------------------------------------------------------
# Readable form -> API body


def _datastore(kind):
    return {"objectType": "DataStoreInfoBase", "dataStoreType": kind}


def readable_to_body(schedule, retention, datasource_type=None):
    """Build the policy resource body ``{"properties": {...}}`` for a PUT; raise PolicyError if invalid."""
    record = _record()
    if datasource_type is not None and not (isinstance(datasource_type, str) and record.is_type(datasource_type)):
        raise PolicyError("datasource_type", "only {0} ({1}) is supported".format(record.arm_type, record.label))
    return _body_from_plan(_plan(schedule, retention), record.arm_type)


def _body_from_plan(plan, datasource_type):
    intervals = []
    for day in plan.days:
        local = datetime(
            REFERENCE_SUNDAY.year,
            REFERENCE_SUNDAY.month,
            REFERENCE_SUNDAY.day + DAYS_OF_WEEK.index(day),
            plan.hour,
            plan.minute,
            tzinfo=plan.zone.tzinfo,
        )
        intervals.append("R/{0}/{1}".format(_isoformat(local), _record().schedule_periods[0]))
    tagging = []
    retention_rules = []
    for rule in plan.rules:
        is_default = rule.tag == "Default"
        tag = {
            "tagInfo": {"tagName": rule.tag},
            "taggingPriority": _record().tag_priorities[rule.tag],
            "isDefault": is_default,
        }
        if not is_default:
            criterion = {"objectType": "ScheduleBasedBackupCriteria"}
            if rule.criteria is None:
                criterion["absoluteCriteria"] = [FIRST_OF[rule.tag]]
            else:
                criterion.update(rule.criteria)
            tag["criteria"] = [criterion]
        tagging.append(tag)
        retention_rules.append(
            {
                "name": rule.tag,
                "objectType": "AzureRetentionRule",
                "isDefault": is_default,
                "lifecycles": [
                    {
                        "deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": str(rule.duration)},
                        "sourceDataStore": _datastore(_record().datastore_type),
                        "targetDataStoreCopySettings": [],
                    }
                ],
            }
        )
    backup_rule = {
        "name": _record().backup_rule_name,
        "objectType": "AzureBackupRule",
        "backupParameters": {"objectType": "AzureBackupParams", "backupType": _record().backup_type},
        "dataStore": _datastore(_record().datastore_type),
        "trigger": {
            "objectType": "ScheduleBasedTriggerContext",
            "schedule": {"repeatingTimeIntervals": intervals, "timeZone": plan.zone.azure_name},
            "taggingCriteria": tagging,
        },
    }
    return {
        "properties": {
            "objectType": "BackupPolicy",
            "datasourceTypes": [datasource_type],
            "policyRules": [backup_rule] + retention_rules,
        }
    }


def _isoformat(when):
    """``2024-01-07T02:00:00+00:00``: seconds always, fractions only when present, offset always."""
    return when.isoformat(timespec="microseconds" if when.microsecond else "seconds")


# --------------------------------------------------------------------------------------------------------------
# Service body -> readable form


def body_to_readable(body):
    """Express a policy body readably: ``{"custom": False, "schedule": ..., "retention": ...}``.

    When the body uses something the readable form cannot express (archive copies, other criteria, other
    rule names or priorities, several times a day, ...), return ``{"custom": True, "reason": ...,
    "schedule": None, "retention": None}``; such a policy can still be managed with the raw ``policy``.
    """
    try:
        schedule, retention = _readable(normalize_body(body))
    except _NotReadable as error:
        return {"custom": True, "reason": str(error), "schedule": None, "retention": None}
    return {"custom": False, "schedule": schedule, "retention": retention}


class _NotReadable(Exception):
    pass


def _readable(props):
    if props.get("objectType") != "BackupPolicy":
        raise _NotReadable("objectType is {0!r}, not BackupPolicy".format(props.get("objectType")))
    if props.get("datasourceTypes") != [_record().arm_type]:
        raise _NotReadable("datasourceTypes is {0!r}".format(props.get("datasourceTypes")))
    rules = props.get("policyRules", [])
    backup_rules = [rule for rule in rules if rule.get("objectType") == "AzureBackupRule"]
    retention_rules = [rule for rule in rules if rule.get("objectType") == "AzureRetentionRule"]
    if len(backup_rules) != 1 or len(backup_rules) + len(retention_rules) != len(rules):
        raise _NotReadable("expected one backup rule and retention rules only")
    backup = backup_rules[0]
    expected = {
        "name": _record().backup_rule_name,
        "objectType": "AzureBackupRule",
        "backupParameters": {"objectType": "AzureBackupParams", "backupType": _record().backup_type},
        "dataStore": _datastore(_record().datastore_type),
    }
    if {key: backup.get(key) for key in expected} != expected:
        raise _NotReadable(
            "the backup rule is not a {0} {1} backup to the {2} named {3}".format(
                _record().schedule_periods[0], _record().backup_type, _record().datastore_type,
                _record().backup_rule_name
            )
        )
    trigger = backup.get("trigger", {})
    if trigger.get("objectType") != "ScheduleBasedTriggerContext":
        raise _NotReadable("the trigger is not schedule based")
    schedule = _readable_schedule(trigger.get("schedule", {}))

    durations = {}
    for rule in retention_rules:
        name = rule.get("name")
        if name not in _record().tag_priorities or bool(rule.get("isDefault")) != (name == "Default"):
            raise _NotReadable("retention rule {0!r} is not one of Default, Weekly, Monthly, Yearly".format(name))
        lifecycles = rule.get("lifecycles", [])
        if (
            len(lifecycles) != 1
            or set(lifecycles[0]) != {"deleteAfter", "sourceDataStore"}
            or lifecycles[0]["sourceDataStore"] != _datastore(_record().datastore_type)
            or lifecycles[0]["deleteAfter"].get("objectType") != "AbsoluteDeleteOption"
        ):
            raise _NotReadable("retention rule {0} has copies to another data store or other lifecycles".format(name))
        durations[name] = lifecycles[0]["deleteAfter"].get("duration")
    if "Default" not in durations:
        raise _NotReadable("no Default retention rule")

    retention = {}
    tags = trigger.get("taggingCriteria", [])
    if sorted(str(tag.get("tagInfo", {}).get("tagName")) for tag in tags) != sorted(durations):
        raise _NotReadable("tagging criteria and retention rules do not correspond one to one")
    for tag in tags:
        name = tag["tagInfo"]["tagName"]
        if bool(tag.get("isDefault")) != (name == "Default"):
            raise _NotReadable("tag {0} has isDefault {1}".format(name, bool(tag.get("isDefault"))))
        if tag.get("taggingPriority") != _record().tag_priorities[name]:
            raise _NotReadable(
                "tag {0} has priority {1}, not {2}".format(
                    name, tag.get("taggingPriority"), _record().tag_priorities[name]
                )
            )
        rule = {"duration": durations[name]}
        if name == "Default":
            if tag.get("criteria"):
                raise _NotReadable("the Default tag has criteria")
        else:
            rule.update(_readable_criteria(name, tag.get("criteria", []), schedule))
        retention[RULE_OF_TAG[name]] = rule
    retention = dict((key, retention[key]) for key, _tag in RULE_TAGS if key in retention)
    return schedule, retention


def _readable_schedule(schedule):
    intervals = schedule.get("repeatingTimeIntervals", [])
    zone_name = schedule.get("timeZone")
    if zone_name is None:
        if not _all_utc(intervals):
            raise _NotReadable("the schedule has no timeZone and its times are not in UTC")
        zone_name = "UTC"
    try:
        zone = resolve_time_zone(zone_name)
    except PolicyError:
        raise _NotReadable("time zone {0!r} is not one this collection knows".format(zone_name)) from None
    days = []
    times = set()
    for text in intervals:
        try:
            start, period = _parse_interval(text, zone.tzinfo, "schedule")
        except PolicyError as error:
            raise _NotReadable(error.message) from None
        if period != _record().schedule_periods[0]:
            raise _NotReadable("the schedule repeats every {0}, not weekly".format(period))
        local = start.astimezone(zone.tzinfo)
        days.append(DAYS_OF_WEEK[(local.weekday() + 1) % 7])
        times.add((local.hour, local.minute, local.second, local.microsecond))
    if not days or len(set(days)) != len(days) or len(times) != 1:
        raise _NotReadable("the schedule does not run once, at one time, on distinct days of the week")
    hour, minute, second, micro = times.pop()
    if second or micro:
        raise _NotReadable("the backup time has seconds")
    return {
        "days_of_week": [day for day in DAYS_OF_WEEK if day in days],
        "time": "{0:02d}:{1:02d}".format(hour, minute),
        "timezone": zone.azure_name,
    }


def _readable_criteria(tag, criteria, schedule):
    """Map one API criterion back to the readable keys, exactly inverting readable_to_body()."""
    if len(criteria) != 1:
        raise _NotReadable("tag {0} has {1} criteria, expected one".format(tag, len(criteria)))
    criterion = dict(criteria[0])
    criterion.pop("objectType", None)
    if criterion == {"absoluteCriteria": [FIRST_OF[tag]]}:
        return {}
    readable = {}
    names = {"daysOfTheWeek": "days_of_week", "weeksOfTheMonth": "weeks_of_month", "monthsOfYear": "months_of_year"}
    for api_name, key in names.items():
        if api_name in criterion:
            readable[key] = criterion.pop(api_name)
    if "daysOfMonth" in criterion:
        readable["days_of_month"] = [
            "Last" if day.get("isLast") else day.get("date") for day in criterion.pop("daysOfMonth")
        ]
    if criterion:
        raise _NotReadable(
            "tag {0} uses criteria the readable form does not have: {1}".format(tag, ", ".join(sorted(criterion)))
        )
    try:
        _parse_rule(RULE_OF_TAG[tag], tag, dict(readable, duration="P1D"), tuple(schedule["days_of_week"]))
    except PolicyError as error:
        raise _NotReadable("tag {0}: {1}".format(tag, error.message)) from None
    return readable


# --------------------------------------------------------------------------------------------------------------
# Normalisation and comparison


def _properties(body):
    if not isinstance(body, dict):
        raise PolicyError("policy", "expected a dictionary (the policy resource body or its properties)")
    if isinstance(body.get("properties"), dict):
        return body["properties"]
    return body


def _canon(value, vocabulary):
    """The canonical spelling of an enum-like value (Azure treats them case-insensitively)."""
    if isinstance(value, str):
        for choice in vocabulary:
            if choice.lower() == value.strip().lower():
                return choice
    return value


def _drop_empty(mapping):
    return dict((key, value) for key, value in mapping.items() if value not in (None, [], {}, ""))


def normalize_body(body, semantic=False):
    """Canonical policy properties for comparison and display.

    Unwraps ``properties``; keeps only the fields of the API model (drops ``tagInfo.id``/``eTag`` and
    anything else the service fills in); spells enum values and ``objectType`` canonically; writes
    durations as ``P12W`` (upper case, zero parts dropped); sorts lists whose order carries no meaning;
    drops empty lists and nulls. With ``semantic=True``, also reduce what Azure treats as equal to one
    form: durations to months and days (``P1Y`` == ``P12M``), repeating intervals to weekday, wall-clock
    time and period in the policy's time zone, the time zone to its IANA name.
    """
    props = _properties(body)
    out = {
        "objectType": _canon(props.get("objectType"), OBJECT_TYPES),
        "datasourceTypes": sorted(
            _canon(kind, (_record().arm_type,)) for kind in props.get("datasourceTypes") or []
        ),
        "policyRules": sorted(
            (_normalize_rule(rule, semantic) for rule in props.get("policyRules") or []),
            key=lambda rule: (str(rule.get("objectType")), str(rule.get("name")).lower()),
        ),
    }
    return _drop_empty(out)


def bodies_equal(desired, current):
    """True when the service's policy ``current`` already is ``desired`` (see normalize_body)."""
    return normalize_body(desired, semantic=True) == normalize_body(current, semantic=True)


def _normalize_rule(rule, semantic):
    if not isinstance(rule, dict):
        return rule
    kind = _canon(rule.get("objectType"), OBJECT_TYPES)
    out = {
        "name": _canon(rule.get("name"), tuple(_record().tag_priorities) + (_record().backup_rule_name,)),
        "objectType": kind,
    }
    if kind == "AzureRetentionRule":
        out["isDefault"] = bool(rule.get("isDefault"))
        out["lifecycles"] = _sorted_json(
            _normalize_lifecycle(cycle, semantic) for cycle in rule.get("lifecycles") or []
        )
    elif kind == "AzureBackupRule":
        params = rule.get("backupParameters") or {}
        out["backupParameters"] = _drop_empty(
            {
                "objectType": _canon(params.get("objectType"), OBJECT_TYPES),
                "backupType": _canon(params.get("backupType"), BACKUP_TYPES),
            }
        )
        out["dataStore"] = _normalize_datastore(rule.get("dataStore"))
        out["trigger"] = _normalize_trigger(rule.get("trigger") or {}, semantic)
    else:
        out.update((key, value) for key, value in rule.items() if key not in out)
    return _drop_empty(out)


def _normalize_datastore(store):
    store = store or {}
    return _drop_empty(
        {
            "objectType": _canon(store.get("objectType"), OBJECT_TYPES),
            "dataStoreType": _canon(store.get("dataStoreType"), DATASTORE_TYPES),
        }
    )


def _normalize_duration(text, semantic):
    try:
        duration = parse_duration(text, maximum=None)
    except PolicyError:
        return text
    if semantic:
        return "P{0}M{1}D".format(*duration.key())
    return str(duration)


def _normalize_lifecycle(cycle, semantic):
    delete_after = cycle.get("deleteAfter") or {}
    copies = []
    for setting in cycle.get("targetDataStoreCopySettings") or []:
        copy_after = setting.get("copyAfter") or {}
        copies.append(
            _drop_empty(
                {
                    "dataStore": _normalize_datastore(setting.get("dataStore")),
                    "copyAfter": _drop_empty(
                        {
                            "objectType": _canon(copy_after.get("objectType"), OBJECT_TYPES),
                            "duration": _normalize_duration(copy_after.get("duration"), semantic),
                        }
                    ),
                }
            )
        )
    return _drop_empty(
        {
            "deleteAfter": _drop_empty(
                {
                    "objectType": _canon(delete_after.get("objectType"), OBJECT_TYPES),
                    "duration": _normalize_duration(delete_after.get("duration"), semantic),
                }
            ),
            "sourceDataStore": _normalize_datastore(cycle.get("sourceDataStore")),
            "targetDataStoreCopySettings": _sorted_json(copies),
        }
    )


def _normalize_trigger(trigger, semantic):
    kind = _canon(trigger.get("objectType"), OBJECT_TYPES)
    out = {"objectType": kind}
    schedule = trigger.get("schedule") or {}
    texts = schedule.get("repeatingTimeIntervals") or []
    zone_name = schedule.get("timeZone")
    zone = None
    if zone_name is not None:
        try:
            zone = resolve_time_zone(zone_name)
        except PolicyError:
            zone = None  # kept as written; times are compared in the intervals' own offsets
    elif _all_utc(texts):
        zone = resolve_time_zone("UTC")  # no time zone and UTC times: the same schedule as timeZone UTC
    intervals = [_normalize_interval(text, zone, semantic) for text in texts]
    if semantic:
        zone_key = zone.iana_name if zone else zone_name
    else:
        zone_key = zone.azure_name if zone and zone_name is not None else zone_name
    out["schedule"] = _drop_empty({"repeatingTimeIntervals": sorted(intervals), "timeZone": zone_key})
    tags = trigger.get("taggingCriteria") or []
    if isinstance(tags, list):
        out["taggingCriteria"] = sorted(
            (_normalize_tag(tag) for tag in tags), key=lambda tag: str(tag.get("tagInfo", {}).get("tagName")).lower()
        )
    else:  # AdhocBasedTriggerContext carries one object
        out["taggingCriteria"] = _normalize_tag(tags)
    return _drop_empty(out)


def _all_utc(texts):
    """True when every interval parses and starts at offset zero (a schedule without timeZone reads as UTC)."""
    for text in texts:
        try:
            start, _period = _parse_interval(text, None, "interval")
        except PolicyError:
            return False
        if start.utcoffset():
            return False
    return True


def _normalize_interval(text, zone, semantic):
    try:
        start, period = _parse_interval(text, zone.tzinfo if zone else None, "interval")
    except PolicyError:
        return text
    if not semantic:
        return "R/{0}/{1}".format(_isoformat(start), period)
    local = start.astimezone(zone.tzinfo) if zone else start
    return "{0} {1} {2}".format(DAYS_OF_WEEK[(local.weekday() + 1) % 7], local.strftime("%H:%M:%S.%f"), period)


def _normalize_tag(tag):
    tag = tag or {}
    info = tag.get("tagInfo") or {}
    priority = tag.get("taggingPriority")
    if isinstance(priority, str) and priority.strip().isdigit():
        priority = int(priority)
    out = {
        "tagInfo": {"tagName": _canon(info.get("tagName"), tuple(_record().tag_priorities))},
        "taggingPriority": priority,
        "isDefault": bool(tag.get("isDefault")),
        "criteria": _sorted_json(_normalize_criterion(criterion) for criterion in tag.get("criteria") or []),
    }
    return _drop_empty(out)


def _normalize_criterion(criterion):
    def ordered(values, vocabulary):
        canonical = [_canon(value, vocabulary) for value in values or []]
        return sorted(
            set(canonical), key=lambda value: (vocabulary.index(value) if value in vocabulary else 99, str(value))
        )

    days = []
    for day in criterion.get("daysOfMonth") or []:
        if day.get("isLast"):
            days.append({"isLast": True})
        else:
            days.append({"date": day.get("date"), "isLast": False})
    times = []
    for text in criterion.get("scheduleTimes") or []:
        parsed = _parse_datetime(text, None) if isinstance(text, str) else None
        times.append(_isoformat(parsed) if parsed else text)
    return _drop_empty(
        {
            "objectType": _canon(criterion.get("objectType"), OBJECT_TYPES),
            "absoluteCriteria": ordered(criterion.get("absoluteCriteria"), ABSOLUTE_MARKERS),
            "daysOfTheWeek": ordered(criterion.get("daysOfTheWeek"), DAYS_OF_WEEK),
            "weeksOfTheMonth": ordered(criterion.get("weeksOfTheMonth"), WEEKS_OF_MONTH),
            "monthsOfYear": ordered(criterion.get("monthsOfYear"), MONTHS),
            "daysOfMonth": _sorted_json(days),
            "scheduleTimes": sorted(set(times), key=str),
        }
    )


def _sorted_json(items):
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=str))


def policy_diff(before_body, after_body):
    """``{"before": ..., "after": ...}`` for diff mode: readable forms, or normalised bodies if either is custom.

    ``None`` stands for an absent policy and shows as ``{}``.
    """
    before = body_to_readable(before_body) if before_body else None
    after = body_to_readable(after_body) if after_body else None
    if (before and before["custom"]) or (after and after["custom"]):
        return {
            "before": normalize_body(before_body) if before_body else {},
            "after": normalize_body(after_body) if after_body else {},
        }
    return {
        "before": {"schedule": before["schedule"], "retention": before["retention"]} if before else {},
        "after": {"schedule": after["schedule"], "retention": after["retention"]} if after else {},
    }


# --------------------------------------------------------------------------------------------------------------
# Raw body validation


def validate_raw_body(body, field="policy"):
    """Structural checks of an expert's raw policy body before any write; return warnings, raise PolicyError."""
    if not isinstance(body, dict):
        raise PolicyError(field, "expected a dictionary (the policy resource body or its properties)")
    if isinstance(body.get("properties"), dict):
        field += ".properties"
    props = _properties(body)
    warnings = []
    if str(props.get("objectType", "")).lower() != "backuppolicy":
        raise PolicyError(field + ".objectType", "must be BackupPolicy, got {0!r}".format(props.get("objectType")))
    kinds = props.get("datasourceTypes")
    if not isinstance(kinds, list) or _record().arm_type.lower() not in [str(kind).lower() for kind in kinds]:
        raise PolicyError(field + ".datasourceTypes", "must contain {0}".format(_record().arm_type))
    rules = props.get("policyRules")
    if not isinstance(rules, list) or not rules:
        raise PolicyError(field + ".policyRules", "required: one backup rule and at least the default retention rule")
    backup_rules, retention = [], {}
    for index, rule in enumerate(rules):
        where = "{0}.policyRules[{1}]".format(field, index)
        if not isinstance(rule, dict) or not isinstance(rule.get("name"), str) or not rule["name"]:
            raise PolicyError(where, "each rule needs a name and an objectType")
        kind = str(rule.get("objectType", "")).lower()
        if kind == "azurebackuprule":
            backup_rules.append((where, rule))
        elif kind == "azureretentionrule":
            if rule["name"] in retention:
                raise PolicyError(where + ".name", "retention rule {0} is defined twice".format(rule["name"]))
            _check_retention_rule(where, rule)
            retention[rule["name"]] = rule
        else:
            raise PolicyError(
                where + ".objectType",
                "must be AzureBackupRule or AzureRetentionRule, got {0!r}".format(rule.get("objectType")),
            )
    if len(backup_rules) != 1:
        raise PolicyError(
            field + ".policyRules", "exactly one AzureBackupRule is required, found {0}".format(len(backup_rules))
        )
    defaults = [name for name, rule in retention.items() if rule.get("isDefault") is True]
    if len(defaults) != 1:
        raise PolicyError(
            field + ".policyRules",
            "exactly one retention rule must have isDefault: true, found {0}".format(len(defaults)),
        )
    where, backup = backup_rules[0]
    warnings.extend(_check_backup_rule(where, backup, retention, defaults[0]))
    return warnings


def _check_retention_rule(where, rule):
    lifecycles = rule.get("lifecycles")
    if not isinstance(lifecycles, list) or not lifecycles:
        raise PolicyError(where + ".lifecycles", "required: at least one lifecycle with deleteAfter")
    stores = []
    for index, cycle in enumerate(lifecycles):
        at = "{0}.lifecycles[{1}]".format(where, index)
        delete_after = _mapping(cycle, at, "a lifecycle").get("deleteAfter")
        if not isinstance(delete_after, dict):
            raise PolicyError(at + ".deleteAfter", "required: {objectType: AbsoluteDeleteOption, duration: ...}")
        if str(delete_after.get("objectType", "")).lower() != "absolutedeleteoption":
            raise PolicyError(at + ".deleteAfter.objectType", "must be AbsoluteDeleteOption")
        parse_duration(delete_after.get("duration"), at + ".deleteAfter.duration")
        store = _check_datastore(at + ".sourceDataStore", cycle.get("sourceDataStore"))
        if store in stores:
            raise PolicyError(at + ".sourceDataStore", "two lifecycles for the {0}".format(store))
        stores.append(store)
        for number, setting in enumerate(cycle.get("targetDataStoreCopySettings") or []):
            target = "{0}.targetDataStoreCopySettings[{1}]".format(at, number)
            setting = _mapping(setting, target, "a copy setting")
            _check_datastore(target + ".dataStore", setting.get("dataStore"))
            copy_after = _mapping(setting.get("copyAfter"), target + ".copyAfter", "a copy option")
            kind = _canon(copy_after.get("objectType"), OBJECT_TYPES)
            if kind not in ("CopyOnExpiryOption", "CustomCopyOption", "ImmediateCopyOption"):
                raise PolicyError(
                    target + ".copyAfter.objectType",
                    "must be CopyOnExpiryOption, CustomCopyOption or ImmediateCopyOption",
                )
            if kind == "CustomCopyOption":
                parse_duration(copy_after.get("duration"), target + ".copyAfter.duration")
    if _record().datastore_type not in stores:
        raise PolicyError(
            where + ".lifecycles", "one lifecycle must have sourceDataStore {0}".format(_record().datastore_type)
        )


def _mapping(value, where, what):
    """``value`` if it is a dictionary (None counts as empty), else a PolicyError naming the field."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PolicyError(where, "expected {0}, got {1!r}".format(what, value))
    return value


def _check_datastore(where, store):
    store = _mapping(store, where, "a data store")
    kind = _canon(store.get("dataStoreType"), DATASTORE_TYPES)
    if kind not in DATASTORE_TYPES or str(store.get("objectType", "")).lower() != "datastoreinfobase":
        raise PolicyError(where, "expected {objectType: DataStoreInfoBase, dataStoreType: VaultStore|ArchiveStore}")
    return kind


def _check_backup_rule(where, rule, retention, default_name):
    warnings = []
    if rule.get("name") != _record().backup_rule_name:
        warnings.append(
            "{0}.name: the Azure tools name the backup rule {1}; on-demand backups name the rule, so "
            "keep {1} unless you know better".format(where, _record().backup_rule_name)
        )
    params = _mapping(rule.get("backupParameters"), where + ".backupParameters", "backup parameters")
    if str(params.get("backupType", "")).lower() != _record().backup_type.lower():
        raise PolicyError(where + ".backupParameters.backupType", "must be {0}".format(_record().backup_type))
    if _check_datastore(where + ".dataStore", rule.get("dataStore")) != _record().datastore_type:
        raise PolicyError(where + ".dataStore.dataStoreType", "must be {0}".format(_record().datastore_type))
    trigger = _mapping(rule.get("trigger"), where + ".trigger", "a trigger")
    if str(trigger.get("objectType", "")).lower() != "schedulebasedtriggercontext":
        raise PolicyError(where + ".trigger.objectType", "must be ScheduleBasedTriggerContext")
    schedule = _mapping(trigger.get("schedule"), where + ".trigger.schedule", "a schedule")
    zone = None
    if schedule.get("timeZone") is not None:
        try:
            zone = resolve_time_zone(schedule["timeZone"], where + ".trigger.schedule.timeZone")
        except PolicyError as error:
            warnings.append(str(error) + " (the retention preview uses the offsets of repeatingTimeIntervals)")
    intervals = schedule.get("repeatingTimeIntervals")
    if not isinstance(intervals, list) or not intervals:
        raise PolicyError(where + ".trigger.schedule.repeatingTimeIntervals", "required: at least one interval")
    slots = []
    for index, text in enumerate(intervals):
        at = "{0}.trigger.schedule.repeatingTimeIntervals[{1}]".format(where, index)
        start, period = _parse_interval(text, zone.tzinfo if zone else None, at)
        if period != _record().schedule_periods[0]:
            raise PolicyError(
                at,
                "{0} repeats every {1}; {2} supports weekly schedules only ({3})".format(
                    text, period, _record().label, _record().schedule_periods[0]
                ),
            )
        local = start.astimezone(zone.tzinfo) if zone else start
        slot = (local.weekday(), local.time())
        if slot[0] in [day for day, _time in slots]:
            raise PolicyError(at, "{0} is scheduled twice".format(DAYS_OF_WEEK[(local.weekday() + 1) % 7]))
        if slots and slot[1] != slots[0][1]:
            raise PolicyError(
                at,
                "all backups must run at the same time of day ({0} supports one time)".format(_record().label),
            )
        slots.append(slot)
    tags = trigger.get("taggingCriteria")
    if not isinstance(tags, list) or not tags:
        raise PolicyError(where + ".trigger.taggingCriteria", "required: at least the default tag")
    named = []
    for index, tag in enumerate(tags):
        at = "{0}.trigger.taggingCriteria[{1}]".format(where, index)
        tag = _mapping(tag, at, "a tagging criterion")
        name = _mapping(tag.get("tagInfo"), at + ".tagInfo", "tag information").get("tagName")
        if not isinstance(name, str) or name not in retention:
            raise PolicyError(
                at + ".tagInfo.tagName",
                "{0!r} names no retention rule (rules: {1})".format(name, ", ".join(sorted(retention))),
            )
        if name in named:
            raise PolicyError(at + ".tagInfo.tagName", "tag {0} is defined twice".format(name))
        named.append(name)
        if not isinstance(tag.get("taggingPriority"), int) or isinstance(tag.get("taggingPriority"), bool):
            raise PolicyError(at + ".taggingPriority", "required: an integer (lower wins)")
        if bool(tag.get("isDefault")) != (name == default_name):
            raise PolicyError(
                at + ".isDefault", "must be true for the default rule's tag ({0}) only".format(default_name)
            )
        if name != default_name:
            criteria = tag.get("criteria")
            if not isinstance(criteria, list) or not criteria:
                raise PolicyError(at + ".criteria", "required for a tag other than the default")
            for number, criterion in enumerate(criteria):
                _check_criterion("{0}.criteria[{1}]".format(at, number), criterion)
    if default_name not in named:
        raise PolicyError(
            where + ".trigger.taggingCriteria",
            "the default rule {0} needs a tag with isDefault: true".format(default_name),
        )
    for name in sorted(set(retention) - set(named)):
        warnings.append(
            "{0}.trigger.taggingCriteria: retention rule {1} has no tag, so no backup ever gets it".format(where, name)
        )
    return warnings


def _check_criterion(where, criterion):
    if not isinstance(criterion, dict) or str(criterion.get("objectType", "")).lower() != "schedulebasedbackupcriteria":
        raise PolicyError(where + ".objectType", "must be ScheduleBasedBackupCriteria")
    checks = (
        ("absoluteCriteria", ABSOLUTE_MARKERS),
        ("daysOfTheWeek", DAYS_OF_WEEK),
        ("weeksOfTheMonth", WEEKS_OF_MONTH),
        ("monthsOfYear", MONTHS),
    )
    found = False
    for name, _vocabulary in checks + (("daysOfMonth", None),):
        if not isinstance(criterion.get(name) or [], list):
            raise PolicyError("{0}.{1}".format(where, name), "expected a list")
    for name, vocabulary in checks:
        for value in criterion.get(name) or []:
            found = True
            if _canon(value, vocabulary) not in vocabulary:
                raise PolicyError(
                    "{0}.{1}".format(where, name), "{0!r} is not one of {1}".format(value, ", ".join(vocabulary))
                )
    for day in criterion.get("daysOfMonth") or []:
        found = True
        if not (
            isinstance(day, dict)
            and (day.get("isLast") is True or (isinstance(day.get("date"), int) and 1 <= day["date"] <= 28))
        ):
            raise PolicyError(where + ".daysOfMonth", "each day is {date: 1..28} or {isLast: true}")
    if not found:
        raise PolicyError(where, "names no backups: set absoluteCriteria or days, weeks or months")


# --------------------------------------------------------------------------------------------------------------
# Schedule and tagging simulation

Model = namedtuple("Model", ["zone", "slots", "starts", "tags", "durations"])
Tag = namedtuple("Tag", ["name", "priority", "is_default", "criteria"])


def _parse_datetime(text, tzinfo):
    match = _DATETIME_RE.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0").ljust(6, "0")[:6])
    try:
        when = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro)
    except ValueError:
        return None
    if offset is None:
        return _real_time(when.replace(tzinfo=tzinfo or timezone.utc))
    if offset.upper() == "Z":
        return when.replace(tzinfo=timezone.utc)
    sign = -1 if offset[0] == "-" else 1
    return when.replace(tzinfo=timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))))


def _parse_interval(text, tzinfo, field):
    """``R/<start>/<period>`` -> (aware start, canonical period); a start without offset is in ``tzinfo``."""
    match = _INTERVAL_RE.match(text.strip()) if isinstance(text, str) else None
    start = _parse_datetime(match.group(1), tzinfo) if match else None
    if start is None:
        raise PolicyError(
            field, "{0!r} is not a repeating interval such as R/2024-01-07T02:00:00+00:00/P1W".format(text)
        )
    period = match.group(2).upper()
    if _DURATION_RE.match(period):
        period = str(parse_duration(period, field, maximum=None))
    return start, period


def _model(body):
    """What the simulation needs from a policy body: zone, weekly slots, tags by priority, durations."""
    props = normalize_body(body)
    backup = [rule for rule in props.get("policyRules", []) if rule.get("objectType") == "AzureBackupRule"]
    if len(backup) != 1:
        raise PolicyError("policy", "the policy needs exactly one AzureBackupRule to simulate its schedule")
    trigger = backup[0].get("trigger", {})
    schedule = trigger.get("schedule", {})
    zone = None
    if schedule.get("timeZone") is not None:
        try:
            zone = resolve_time_zone(schedule["timeZone"])
        except PolicyError:
            zone = None
    slots, starts = set(), []
    for text in schedule.get("repeatingTimeIntervals", []):
        start, period = _parse_interval(text, zone.tzinfo if zone else None, "policy.repeatingTimeIntervals")
        if period != _record().schedule_periods[0]:
            raise PolicyError(
                "policy.repeatingTimeIntervals", "only weekly schedules can be previewed, got {0}".format(text)
            )
        if zone is None:  # unknown or missing zone: the interval's own offset is the best information
            zone = TimeZone(schedule.get("timeZone") or "UTC", None, start.tzinfo)
        local = start.astimezone(zone.tzinfo)
        slots.add((local.weekday(), local.hour, local.minute, local.second, local.microsecond))
        starts.append(start)
    if not slots:
        raise PolicyError("policy.repeatingTimeIntervals", "the policy schedules no backups")
    durations = {}
    for rule in props.get("policyRules", []):
        if rule.get("objectType") == "AzureRetentionRule":
            durations[rule["name"]] = [
                parse_duration(
                    cycle.get("deleteAfter", {}).get("duration"),
                    "policy.{0}.duration".format(rule["name"]),
                    maximum=None,
                )
                for cycle in rule.get("lifecycles", [])
            ]
    tags = []
    for tag in trigger.get("taggingCriteria", []):
        name = tag.get("tagInfo", {}).get("tagName")
        if name not in durations:
            raise PolicyError("policy.taggingCriteria", "tag {0!r} names no retention rule".format(name))
        tags.append(Tag(name, tag.get("taggingPriority", 0), tag.get("isDefault", False), tag.get("criteria", [])))
    tags.sort(key=lambda tag: (tag.priority, tag.name))
    if not [tag for tag in tags if tag.is_default]:
        raise PolicyError("policy.taggingCriteria", "the policy has no default tag")
    return Model(zone, sorted(slots), starts, tags, durations)


def _scheduled_times(model, start, end):
    """Scheduled backup instants in [start, end), on the policy's wall clock, never before an interval starts."""
    tzinfo = model.zone.tzinfo
    first_date = start.astimezone(tzinfo).date() - timedelta(days=1)
    last_date = end.astimezone(tzinfo).date() + timedelta(days=1)
    earliest = min(model.starts)
    times = []
    day = first_date
    while day <= last_date:
        for weekday, hour, minute, second, micro in model.slots:
            if weekday == day.weekday():
                when = _real_time(datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=tzinfo))
                if start <= when < end and when >= earliest:
                    times.append(when)
        day += timedelta(days=1)
    return sorted(set(times))


def _first_time(model, after):
    """The first scheduled backup at or after ``after`` (a schedule has one every week once it has started)."""
    base = max(after, min(model.starts))
    return _scheduled_times(model, after, base + timedelta(days=8))[0]


def next_scheduled_backups(policy, after, count=1):
    """The next ``count`` scheduled backup times at or after ``after`` (policy: body or readable form)."""
    model = _model(_as_body(policy))
    after = _aware(after, "after")
    times = []
    window_start = max(after, min(model.starts))
    while len(times) < count:
        window_end = window_start + timedelta(weeks=max(1, count))
        times.extend(_scheduled_times(model, window_start, window_end))
        window_start = window_end
    return times[:count]


def _period_keys(local):
    day = local.date()
    week_start = day - timedelta(days=(day.weekday() - DAYS_OF_WEEK.index(WEEK_START) + 1) % 7)
    return {
        "FirstOfDay": day,
        "FirstOfWeek": week_start,
        "FirstOfMonth": (day.year, day.month),
        "FirstOfYear": day.year,
    }


def _criterion_matches(criterion, local, firsts):
    """Every field that the criterion sets must hold for the backup at ``local`` (see module docstring)."""
    tested = False
    markers = criterion.get("absoluteCriteria")
    if markers:
        tested = True
        if not any(marker == "AllBackup" or marker in firsts for marker in markers):
            return False
    weekday = DAYS_OF_WEEK[(local.weekday() + 1) % 7]
    if criterion.get("daysOfTheWeek"):
        tested = True
        if weekday not in criterion["daysOfTheWeek"]:
            return False
    if criterion.get("weeksOfTheMonth"):
        tested = True
        last_day = calendar.monthrange(local.year, local.month)[1]
        weeks = set()
        if local.day <= 28:
            weeks.add(WEEKS_OF_MONTH[(local.day - 1) // 7])
        if local.day > last_day - 7:
            weeks.add("Last")
        if not weeks.intersection(criterion["weeksOfTheMonth"]):
            return False
    if criterion.get("monthsOfYear"):
        tested = True
        if MONTHS[local.month - 1] not in criterion["monthsOfYear"]:
            return False
    if criterion.get("daysOfMonth"):
        tested = True
        last_day = calendar.monthrange(local.year, local.month)[1]
        if not any(
            (day.get("isLast") and local.day == last_day) or (not day.get("isLast") and day.get("date") == local.day)
            for day in criterion["daysOfMonth"]
        ):
            return False
    return tested


def _all_matches(model, times):
    """For each successful backup (in order), the names of all tags whose criteria match it."""
    seen = dict((marker, set()) for marker in ("FirstOfDay", "FirstOfWeek", "FirstOfMonth", "FirstOfYear"))
    result = []
    for when in times:
        local = when.astimezone(model.zone.tzinfo)
        firsts = set()
        for marker, key in _period_keys(local).items():
            if key not in seen[marker]:
                seen[marker].add(key)
                firsts.add(marker)
        result.append(
            [
                tag.name
                for tag in model.tags
                if tag.is_default or any(_criterion_matches(criterion, local, firsts) for criterion in tag.criteria)
            ]
        )
    return result


def simulate_backups(policy, protected_since, until, failures=()):
    """Recovery points of the scheduled backups in [protected_since, until): ``[(time, tag, expires)]``.

    ``failures``: scheduled times whose backup fails (no recovery point, and it is not the first of its
    period). Times are aware datetimes in the policy's time zone.
    """
    model = _model(_as_body(policy))
    return _simulate(model, _aware(protected_since, "protected_since"), _aware(until, "until"), failures)


def _simulate(model, since, until, failures=()):
    failed = set(_aware(when, "failures").astimezone(timezone.utc) for when in failures)
    times = [when for when in _scheduled_times(model, since, until) if when.astimezone(timezone.utc) not in failed]
    points = []
    for index, tags in enumerate(_all_matches(model, times)):
        when = times[index]
        tag = tags[0]  # model.tags is sorted by priority: the first match wins; the default tag always matches
        # Expiry is computed on the UTC instant, as the service stores and reports recovery point expiry in UTC.
        expires = max(add_duration(when.astimezone(timezone.utc), duration) for duration in model.durations[tag])
        points.append((when, tag, expires))
    return points


def _aware(when, field):
    if not isinstance(when, datetime) or when.tzinfo is None or when.utcoffset() is None:
        raise PolicyError(field, "expected a datetime with a time zone, got {0!r}".format(when))
    return when


def _as_body(policy):
    """Accept a body, its properties, or the readable form ``{"schedule": ..., "retention": ...}``."""
    if isinstance(policy, dict) and "schedule" in policy and "retention" in policy:
        return readable_to_body(policy["schedule"], policy["retention"])
    return policy


# --------------------------------------------------------------------------------------------------------------
# Retention preview


def retention_preview(policy, start, horizon=None, protected_since=None, failures=()):
    """What the policy keeps, and for how long: one entry per scheduled backup, and the steady state.

    ``policy``: body (or its properties) or readable form. ``start``: aware datetime; the preview lists
    backups from the first one at or after it (``next_backup``). ``horizon``: a Duration or ISO 8601
    duration counted from ``next_backup`` (default P1Y), or an aware end datetime (exclusive).
    ``protected_since`` (default ``start``): when protection began; backups between it and ``start`` are
    simulated (they decide which backup is the first of its week, month, year) but not listed.

    Returns ``next_backup``, ``end``, ``time_zone``, ``tags`` (name, priority, duration by priority),
    ``backups`` ``[{time, tag, expires}]``, ``backups_per_tag`` within the horizon, and the steady state:

    * ``steady_state``: recovery points per tag alive at ``steady_state_at``, which is the first scheduled
      backup once the longest rule has run its full length since the first backup (from then on every
      rule holds its full window of points); a point is alive from its backup time until, excluding, its
      expiry; counted by simulation, not by formula, so shadowing (a first-of-month backup is Monthly,
      not Weekly) and calendar effects are exact. ``steady_state_total`` sums it.
    * ``steady_state_range``: per tag, the minimum and maximum count over the year that follows
      ``steady_state_at`` (counts change only at backups and expiries, and each one is checked): a P12M
      window holds one point more or fewer depending on where the first Sundays of the months fall.
    """
    model = _model(_as_body(policy))
    start = _aware(start, "start")
    since = _aware(protected_since, "protected_since") if protected_since is not None else start
    if since > start:
        raise PolicyError("protected_since", "must not be after start")
    tzinfo = model.zone.tzinfo
    next_backup = _first_time(model, start).astimezone(tzinfo)
    if horizon is None:
        horizon = Duration(1, 0, 0, 0)
    if isinstance(horizon, datetime):
        end = _aware(horizon, "horizon")
    else:
        end = add_duration(next_backup, parse_duration(horizon, "horizon", maximum=None))

    longest = max(
        (duration for durations in model.durations.values() for duration in durations),
        key=lambda duration: duration.nominal_days(),
    )
    steady_from = add_duration(_first_time(model, since).astimezone(tzinfo), longest)
    simulate_until = add_duration(steady_from, Duration(1, 0, 1, 0))
    points = _simulate(model, since, max(end, simulate_until), failures)

    steady_points = [when for when, _tag, _expires in points if when >= steady_from]
    if not steady_points:
        raise PolicyError("failures", "every backup of the simulated period failed")
    steady_at = steady_points[0]
    range_end = add_duration(steady_at, Duration(1, 0, 0, 0))
    names = [tag.name for tag in model.tags]
    steady = dict((name, 0) for name in names)
    for when, tag, expires in points:
        if when <= steady_at < expires:
            steady[tag] += 1
    low_high = _count_range(points, names, steady_at, range_end)

    listed = [(when, tag, expires) for when, tag, expires in points if start <= when < end]
    per_tag = dict((name, 0) for name in names)
    for _when, tag, _expires in listed:
        per_tag[tag] += 1
    return {
        "time_zone": model.zone.azure_name,
        "next_backup": _isoformat(next_backup),
        "end": _isoformat(end.astimezone(tzinfo)),
        "tags": [
            {
                "tag": tag.name,
                "priority": tag.priority,
                "duration": str(max(model.durations[tag.name], key=lambda d: d.nominal_days())),
            }
            for tag in model.tags
        ],
        "backups": [
            {"time": _isoformat(when.astimezone(tzinfo)), "tag": tag, "expires": _isoformat(expires.astimezone(tzinfo))}
            for when, tag, expires in listed
        ],
        "backups_per_tag": per_tag,
        "steady_state": steady,
        "steady_state_total": sum(steady.values()),
        "steady_state_at": _isoformat(steady_at.astimezone(tzinfo)),
        "steady_state_range": low_high,
    }


def _count_range(points, names, since, until):
    """Minimum and maximum alive points per tag over the event instants in [since, until)."""
    events = []
    for when, tag, expires in points:
        events.append((when.astimezone(timezone.utc), 1, tag))
        events.append((expires.astimezone(timezone.utc), -1, tag))
    events.sort(key=lambda event: event[0])
    since, until = since.astimezone(timezone.utc), until.astimezone(timezone.utc)
    alive = dict((name, 0) for name in names)
    low_high = dict((name, {"min": None, "max": None}) for name in names)
    index = 0
    while index < len(events):
        instant = events[index][0]
        while index < len(events) and events[index][0] == instant:
            alive[events[index][2]] += events[index][1]
            index += 1
        if instant >= until:
            break
        if instant >= since:
            for name in names:
                bounds = low_high[name]
                bounds["min"] = alive[name] if bounds["min"] is None else min(bounds["min"], alive[name])
                bounds["max"] = alive[name] if bounds["max"] is None else max(bounds["max"], alive[name])
    return low_high
