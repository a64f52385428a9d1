"""Template context of every dashboard page, from the payments layer."""

from __future__ import annotations

from merchants.roles import MERCHANT_ADMIN

from . import dispute_ratio


def dispute_ratio_banner(request) -> dict:
    """`dispute_ratio_banner` for base.html: the month whose dispute ratio is at an early
    warning or worse (payments.dispute_ratio.banner_figures), for a merchant admin; else
    None. Lazy and asked at most once, only on a page that shows the banner to a merchant
    admin; its figures come with the member (no query) on a dashboard page."""
    answer: list = []

    def banner():
        if not answer:
            answer.append(_banner_for(request))
        return answer[0]

    return {"dispute_ratio_banner": banner}


def _banner_for(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not getattr(user, "merchant_id", None):
        return None
    # Loaded with the user by every dashboard page (core.dashboard); a page outside the
    # dashboard (a 404) shows no banner rather than asking for the roles.
    roles = getattr(request, "role_names", None) or []
    if MERCHANT_ADMIN not in roles:
        return None
    # Loaded with the member too (core.dashboard.member_extras): no query of its own.
    extras = getattr(user, "dashboard_extras", None)
    months = (extras["dispute_ratio_months"] or "") if extras is not None else None
    return dispute_ratio.banner_figures(merchant_id=user.merchant_id, months=months)
