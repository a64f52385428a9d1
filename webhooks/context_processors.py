"""The banner of every dashboard page when an endpoint was disabled after its retries ran
out (SPEC 11): for merchant admins only, asked only when a page shows it."""

from django.utils.functional import SimpleLazyObject

from .selectors import has_failing_endpoint


def failing_endpoints(request) -> dict:
    def failing() -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.merchant_id:
            return False
        if not user.has_perm("webhooks.manage_webhooks"):
            return False
        # Loaded with the member by every dashboard page (core.dashboard.member_extras);
        # asked on its own only by a page outside the dashboard.
        extras = getattr(user, "dashboard_extras", None)
        if extras is not None:
            return bool(extras["webhooks_failing"])
        return has_failing_endpoint(merchant_id=user.merchant_id)

    return {"webhooks_failing": SimpleLazyObject(failing)}
