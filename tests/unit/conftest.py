# Copyright: azbackup.dataprotection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fixtures every unit test may use; the fakes themselves live in tests/unit/plugins/fakes.py."""

import pytest

from ansible_collections.azbackup.dataprotection.tests.unit.plugins.fakes import Clock


@pytest.fixture
def clock():
    """A simulated clock: waits in the code under test take no wall-clock time."""
    return Clock()
