import pytest

from tests.queue.processes import fresh_database


@pytest.fixture(scope="session")
def dev_database(tmp_path_factory):
    """A migrated database of its own for subprocesses with the dev settings: {'DATABASE_URL': ...}."""
    with fresh_database(tmp_path_factory.mktemp("dev"), "dev") as env:
        yield env
