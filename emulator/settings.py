"""Command-line settings shared by the server, the store and the resource modules."""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple


@dataclass(frozen=True)
class Settings:
    """What ``python -m emulator serve`` was started with."""

    port: int = 0
    state_dir: Path = Path(".emulator")
    latency_ms: int = 0
    lro_seconds: float = 1.0
    propagation_seconds: float = 0.0
    # Run-time knobs (``POST /_emulator/settings``); None means "as long as --lro-seconds".
    protection_seconds: Optional[float] = None
    job_seconds: Optional[float] = None
    # Operation-status polls without Retry-After (some real answers carry none; clients must cope).
    no_retry_after: bool = False
    # --data-plane: PostgreSQL, real dumps and Azurite behind the seeded resources (emulator/dataplane/).
    data_plane: bool = False
    # --arm-limits: ARM's request limits (emulator/throttling.py); (bucket size, refill per second) per kind.
    arm_limits: bool = False
    read_limit: Tuple[int, float] = (250, 25.0)
    write_limit: Tuple[int, float] = (200, 10.0)
    delete_limit: Tuple[int, float] = (200, 10.0)
    role_assignment_limit: int = 4000
