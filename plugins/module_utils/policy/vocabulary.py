# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The words of an Azure Backup policy (days, months, tags, object types), the policy error, and the datasource record
whose constraints (rule name, data store, backup type, tag priorities) the policy follows."""

from datetime import date

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


class PolicyError(InputError):
    """A policy that cannot be sent to Azure; ``field`` names the option (``retention.monthly.duration``)."""

    def __init__(self, field, message):
        super().__init__("{0}: {1}".format(field, message), option=field, field=field)
        self.field = field
        self.message = message


class PolicyErrors(PolicyError):
    """Every problem found in a policy at once; ``option`` and ``field`` name the first, ``problems`` lists them all."""

    def __init__(self, errors):
        first = errors[0]
        super().__init__(first.field, first.message)
        self.errors = list(errors)
        self.extra["problems"] = [str(error) for error in self.errors]
        self.args = ("{0} problems in the policy: {1}".format(len(self.errors), "; ".join(
            str(error) for error in self.errors)),)


def raise_all(errors):
    """Raise the one error found, or every error found at once (nothing when the list is empty)."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise PolicyErrors(errors)


def _record(ds=None):
    """The datasource record whose policy constraints apply: the one given (every function here takes it as
    ``ds``; the public ones find it from the policy's ``datasourceTypes``), else the registry's default."""
    return ds or datasources.default()


def record_of(body):
    """The record of the datasource type a policy body (or its properties) names, or None."""
    props = body.get("properties") if isinstance(body, dict) and isinstance(body.get("properties"), dict) else body
    for kind in (props or {}).get("datasourceTypes") or [] if isinstance(props, dict) else []:
        if datasources.get(kind):
            return datasources.get(kind)
    return None


def _priority(rule, ds=None):
    return _record(ds=ds).tag_priorities[rule.tag]


def _datastore(kind):
    return {"objectType": "DataStoreInfoBase", "dataStoreType": kind}
