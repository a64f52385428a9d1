from tests.customers.conftest import anonymous_api, api, other_api  # noqa: F401
