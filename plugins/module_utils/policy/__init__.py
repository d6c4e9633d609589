# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Backup policies: readable form, API body, validation, comparison and retention preview.

One file per concern: ``vocabulary`` (words, the policy error, the datasource record's constraints),
``timezones``, ``durations`` (durations, date-times, repeating intervals), ``readable`` (readable form <-> body,
readable diff), ``comparison`` (normalised bodies), ``validation`` (raw bodies), ``schedule`` (when backups run and
how they are tagged) and ``preview`` (simulation and retention preview). This package exports the public API.

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

from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.comparison import (  # noqa: F401 - the package API
    bodies_equal,
    normalize_body,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.durations import (  # noqa: F401 - the package API
    Duration,
    add_duration,
    parse_duration,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.preview import (  # noqa: F401 - the package API
    next_scheduled_backups,
    retention_preview,
    simulate_backups,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.readable import (  # noqa: F401 - the package API
    body_to_readable,
    policy_diff,
    readable_to_body,
    validate_readable,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.timezones import (  # noqa: F401 - the package API
    DEFAULT_TIME_ZONE,
    IANA_ALIASES,
    WINDOWS_TIME_ZONES,
    TimeZone,
    resolve_time_zone,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.validation import (  # noqa: F401 - the package API
    validate_raw_body,
)
from ansible_collections.azbackup.dataprotection.plugins.module_utils.policy.vocabulary import (  # noqa: F401 - the package API
    DAYS_OF_WEEK,
    TAG_OF_RULE,
    WEEK_START,
    PolicyError,
    PolicyErrors,
)
