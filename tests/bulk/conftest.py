from tests.dashboard.conftest import viewer  # noqa: F401 (a fixture)
