"""Backup schedules and retention tagging of Microsoft.DataProtection policies (the emulator's own engine).

Written from the 2026-06-01 spec (BackupSchedule, ScheduleBasedTriggerContext, TaggingCriteria,
ScheduleBasedBackupCriteria, AzureRetentionRule, AbsoluteDeleteOption) and Azure Backup's documented
retention rules. It is independent of the collection's own preview code on purpose: the tests compare both.

Rules implemented:

- Schedule: ``repeatingTimeIntervals`` entries ``R/<start>/<period>``. With a ``timeZone`` (a Windows name
  such as "W. Europe Standard Time", or "UTC"; IANA names are accepted too) the start's date and wall-clock
  time are read in that zone and the schedule follows that zone's wall clock (daylight saving included); the
  offset written in the start is then ignored. Without a ``timeZone`` the start's own offset applies (UTC when
  it has none). Backups happen at start + k * period (k >= 0).
- Tagging: the tagging criteria are tried by ascending ``taggingPriority``; the first non-default one with a
  matching criterion names the backup's tag; when none matches, the default tag (``isDefault``) applies.
  A tag matches when any of its criteria matches; a criterion matches when every field it sets matches
  (values within one field are alternatives):
  ``absoluteCriteria``: AllBackup (always), FirstOfDay / FirstOfWeek / FirstOfMonth / FirstOfYear = the first
  successful scheduled backup of that calendar day / week (weeks start on Sunday) / month / year in the
  policy's time zone; ``daysOfTheWeek``; ``weeksOfTheMonth`` (First = days 1-7, Second 8-14, Third 15-21,
  Fourth 22-28, Last = the last 7 days of the month); ``monthsOfYear``; ``daysOfMonth`` ({date: n} or
  {isLast: true}); ``scheduleTimes`` (the backup's wall-clock time).
- Expiry: the backup time (UTC) + the VaultStore ``deleteAfter`` duration of the retention rule named like the
  tag (the default rule when none is), months and years counted on the calendar.
"""

import re
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from emulator import registry
from emulator.clock import add_duration, parse_duration
from emulator.protection import CONFIGURED, INSTANCE_TABLE, STOPPED
from emulator.resources import jobs, recovery_points
from emulator.resources.policies import find_policy

# Windows time zone ids (what Azure policies carry) -> IANA zones (CLDR windowsZones, territory "001").
WINDOWS_ZONES = {
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
    "Mid-Atlantic Standard Time": "Etc/GMT+2",
    "Azores Standard Time": "Atlantic/Azores",
    "Cape Verde Standard Time": "Atlantic/Cape_Verde",
    "UTC": "Etc/UTC",
    "Coordinated Universal Time": "Etc/UTC",
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
_WINDOWS_BY_LOWER = {name.lower(): zone for name, zone in WINDOWS_ZONES.items()}

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # datetime.weekday()
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
WEEK_OF_MONTH = {"first": (1, 7), "second": (8, 14), "third": (15, 21), "fourth": (22, 28)}

_INTERVAL = re.compile(
    r"^R(?:\d*)/(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?)"
    r"(?P<offset>Z|[+-]\d{2}:?\d{2})?/(?P<period>P\S+)$",
    re.IGNORECASE,
)
_MAX_STEPS = 200000


def resolve_zone(name):
    """A tzinfo for a Windows or IANA time zone name; ValueError when unknown. None/empty means UTC."""
    if not name or not str(name).strip():
        return timezone.utc
    text = str(name).strip()
    candidates = [_WINDOWS_BY_LOWER.get(text.lower()), text]
    if text.upper() in ("UTC", "GMT", "Z"):
        return timezone.utc
    for candidate in candidates:
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    raise ValueError(f"unknown time zone '{name}'")


def zone_or_utc(name):
    """Like ``resolve_zone`` but UTC for names it does not know (the service validates them on policy PUT)."""
    try:
        return resolve_zone(name)
    except ValueError:
        return timezone.utc


def _parse_offset(text):
    if not text or text.upper() == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def parse_interval(text, zone_name=None):
    """``R/<start>/<period>`` -> (aware start datetime, period text); ValueError when malformed."""
    match = _INTERVAL.match((text or "").strip())
    if not match:
        raise ValueError(f"'{text}' is not a repeating interval R/<start>/<period>")
    clock = match.group("time")
    fmt = "%H:%M:%S" if clock.count(":") == 2 else "%H:%M"
    if "." in clock:
        clock, fraction = clock.split(".")
        fmt = "%H:%M:%S"
    else:
        fraction = ""
    naive = datetime.strptime(f"{match.group('date')}T{clock}", f"%Y-%m-%dT{fmt}")
    if fraction:
        naive = naive.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    if zone_name:
        start = naive.replace(tzinfo=zone_or_utc(zone_name))
    else:
        start = naive.replace(tzinfo=_parse_offset(match.group("offset")))
    parse_duration(match.group("period"))  # validates
    return start, match.group("period").upper()


def _to_utc(local):
    return local.astimezone(timezone.utc)


def occurrences(intervals, zone_name, after, until):
    """Scheduled backup instants (UTC, sorted, unique) in the half-open window (after, until]."""
    found = set()
    for text in intervals or []:
        try:
            start, period = parse_interval(text, zone_name)
        except ValueError:
            continue
        found.update(_interval_occurrences(start, period, after, until))
    return sorted(found)


def _interval_occurrences(start, period, after, until):
    parts = parse_duration(period)
    tz = start.tzinfo
    days = parts.get("weeks", 0) * 7 + parts.get("days", 0)
    months = parts.get("years", 0) * 12 + parts.get("months", 0)
    seconds = parts.get("hours", 0) * 3600 + parts.get("minutes", 0) * 60 + parts.get("seconds", 0)
    result = []
    if days and not months and not seconds:
        # Whole days: step on the local calendar so the wall-clock time survives daylight saving changes.
        first = 0
        if _to_utc(start) <= after:
            first = max(0, (after.astimezone(tz).date() - start.date()).days // days - 1)
        for index in range(first, first + _MAX_STEPS):
            local = datetime.combine(start.date() + timedelta(days=index * days), start.time(), tzinfo=tz)
            moment = _to_utc(local)
            if moment > until:
                break
            if moment > after:
                result.append(moment)
        return result
    if months and not days and not seconds:
        for index in range(_MAX_STEPS):
            moment = _to_utc(add_duration(start, f"P{index * months}M") if index else start)
            if moment > until:
                break
            if moment > after:
                result.append(moment)
        return result
    step = timedelta(days=days, seconds=seconds)
    if step <= timedelta(0) or months:
        return result
    origin = _to_utc(start)
    first = max(0, int((after - origin) / step) - 1) if origin <= after else 0
    for index in range(first, first + _MAX_STEPS):
        moment = origin + index * step
        if moment > until:
            break
        if moment > after:
            result.append(moment)
    return result


# ------------------------------------------------------------------------------------------------ tagging


def week_start(day):
    """The Sunday that starts the calendar week of a date."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


def period_keys(local):
    """The calendar day / week (Sunday start) / month / year a local datetime belongs to."""
    day = local.date()
    return {"FirstOfDay": day, "FirstOfWeek": week_start(day), "FirstOfMonth": (day.year, day.month),
            "FirstOfYear": day.year}


class FirstTracker:
    """Remembers the calendar periods that already had a successful scheduled backup."""

    def __init__(self, seen=None):
        self.seen = {key: set(values) for key, values in (seen or {}).items()}

    def firsts(self, local):
        """The absolute markers (FirstOfDay...) this backup would be the first of."""
        return {marker for marker, key in period_keys(local).items() if key not in self.seen.get(marker, set())}

    def record(self, local):
        for marker, key in period_keys(local).items():
            self.seen.setdefault(marker, set()).add(key)


def _names(values):
    return {str(value).strip().lower() for value in values or []}


def _last_day(day):
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (following - timedelta(days=1)).day


def criterion_matches(criterion, local, firsts):
    """Whether one ScheduleBasedBackupCriteria selects a backup taken at ``local`` (policy time zone)."""
    day = local.date()
    checks = 0
    absolute = _names(criterion.get("absoluteCriteria"))
    if absolute:
        checks += 1
        if "allbackup" not in absolute and not absolute & {marker.lower() for marker in firsts}:
            return False
    weekdays = _names(criterion.get("daysOfTheWeek"))
    if weekdays:
        checks += 1
        if WEEKDAYS[day.weekday()].lower() not in weekdays:
            return False
    weeks = _names(criterion.get("weeksOfTheMonth"))
    if weeks:
        checks += 1
        last = _last_day(day)
        in_week = any(low <= day.day <= high for name, (low, high) in WEEK_OF_MONTH.items() if name in weeks)
        if not in_week and not ("last" in weeks and day.day > last - 7):
            return False
    months = _names(criterion.get("monthsOfYear"))
    if months:
        checks += 1
        if MONTHS[day.month - 1].lower() not in months:
            return False
    days = criterion.get("daysOfMonth") or []
    if days:
        checks += 1
        wanted = {item.get("date") for item in days if isinstance(item, dict) and not item.get("isLast")}
        last = any(isinstance(item, dict) and item.get("isLast") for item in days)
        if day.day not in wanted and not (last and day.day == _last_day(day)):
            return False
    times = criterion.get("scheduleTimes") or []
    if times:
        checks += 1
        clock = local.strftime("%H:%M:%S")
        if not any(isinstance(text, str) and text[11:19] == clock for text in times if len(str(text)) >= 19):
            return False
    return checks > 0


def choose_tag(tagging_criteria, local, firsts):
    """The tag name a scheduled backup at ``local`` gets (priority rule; default tag when nothing matches)."""
    ordered = sorted(tagging_criteria or [], key=lambda tag: tag.get("taggingPriority", 0))
    default = None
    for tag in ordered:
        name = (tag.get("tagInfo") or {}).get("tagName")
        if tag.get("isDefault"):
            default = default or name
            continue
        if any(criterion_matches(criterion, local, firsts) for criterion in tag.get("criteria") or []):
            return name
    return default or "Default"


# ---------------------------------------------------------------------------------------------- retention


def backup_rule(policy_properties):
    """The policy's AzureBackupRule (dict) or None."""
    for rule in policy_properties.get("policyRules", []):
        if rule.get("objectType") == "AzureBackupRule":
            return rule
    return None


def retention_rule(policy_properties, tag_name):
    """The AzureRetentionRule named like the tag (case-insensitive), else the default one."""
    rules = [rule for rule in policy_properties.get("policyRules", [])
             if rule.get("objectType") == "AzureRetentionRule"]
    for rule in rules:
        if rule.get("name", "").lower() == (tag_name or "").lower():
            return rule
    for rule in rules:
        if rule.get("isDefault"):
            return rule
    return None


def retention_duration(rule, datastore="VaultStore"):
    """The deleteAfter duration of the rule's lifecycle for a data store (None when there is none)."""
    for cycle in (rule or {}).get("lifecycles", []):
        if (cycle.get("sourceDataStore") or {}).get("dataStoreType", "").lower() == datastore.lower():
            return (cycle.get("deleteAfter") or {}).get("duration")
    return None


def expiry_time(moment, duration):
    """``moment`` + an ISO 8601 duration, months and years on the calendar (UTC); None without a duration."""
    if not duration:
        return None
    return add_duration(moment.astimezone(timezone.utc), duration)


def plan(policy_properties, after, until, tracker):
    """The scheduled backups of a policy in (after, until]: [(utc, local, tag, rule name, expiry)].

    ``tracker`` (a FirstTracker) is updated as if every backup succeeds; callers that fail a backup call
    ``plan_one`` instead.
    """
    rule = backup_rule(policy_properties)
    if rule is None:
        return []
    schedule = rule.get("trigger", {}).get("schedule", {})
    zone_name = schedule.get("timeZone")
    tz = zone_or_utc(zone_name)
    planned = []
    for moment in occurrences(schedule.get("repeatingTimeIntervals"), zone_name, after, until):
        planned.append(plan_one(policy_properties, moment, tz, tracker))
        tracker.record(moment.astimezone(tz))
    return planned


def plan_one(policy_properties, moment, tz, tracker):
    """(utc, local, tag, retention rule name, expiry) for one scheduled backup; does not record it."""
    local = moment.astimezone(tz)
    rule = backup_rule(policy_properties) or {}
    tags = rule.get("trigger", {}).get("taggingCriteria") or []
    tag = choose_tag(tags, local, tracker.firsts(local))
    retention = retention_rule(policy_properties, tag)
    expiry = expiry_time(moment, retention_duration(retention))
    return moment, local, tag, (retention or {}).get("name", tag), expiry


def policy_zone(policy_properties):
    rule = backup_rule(policy_properties) or {}
    return zone_or_utc(rule.get("trigger", {}).get("schedule", {}).get("timeZone"))


# ------------------------------------------------------------------------------------ the simulated clock

SCHEDULED_JOB_MINUTES = 3


def run_scheduled_backups(store, record, until):
    """Run a backup instance's scheduled backups due in (watermark, until] as ScheduledBackup jobs and recovery
    points; returns the number of jobs."""
    policy = find_policy(store, record["body"]["policyInfo"]["policyId"])
    start = record.get("watermark")
    record["watermark"] = until
    if policy is None or start is None or start >= until:
        return 0
    properties = policy["properties"]
    rule = backup_rule(properties)
    schedule = (rule or {}).get("trigger", {}).get("schedule", {})
    tz = policy_zone(properties)
    context = jobs.job_context(store, record)
    tracker = record.setdefault("tracker", FirstTracker())
    count = 0
    for moment in occurrences(schedule.get("repeatingTimeIntervals"), schedule.get("timeZone"), start, until):
        _moment, local, _tag, retention_name, expiry = plan_one(properties, moment, tz, tracker)
        job = jobs.create_backup_job(store, context, moment, False, retention_name, rule["name"])
        end = min(moment + timedelta(minutes=SCHEDULED_JOB_MINUTES), until)
        failure = jobs.take_job_failure(store, record["name"])
        if failure is not None:
            jobs.finish_job(job, end, jobs.failure_error(failure))
        else:
            recovery_points.create_recovery_point(store, record["id"], moment, retention_name, expiry, policy["name"])
            tracker.record(local)
            jobs.finish_job(job, end)
        count += 1
    return count


@registry.on_clock_advance
def _run_schedules(store, _before, after):
    """Every ProtectionConfigured instance's scheduled backups; expiry of recovery points (not of stopped ones)."""
    started = time.monotonic()
    for _key, record in sorted(store.table(INSTANCE_TABLE).items()):
        if record["state"] == CONFIGURED and not record.get("deleting"):
            run_scheduled_backups(store, record, after)
    for record in store.table(INSTANCE_TABLE).values():
        if record["state"] != STOPPED:
            recovery_points.expire_points(store, record["id"], after)
    store.counters["clock_hook_ms"] = round((time.monotonic() - started) * 1000)
