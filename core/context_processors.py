"""Template context of every page."""


def role_names(request) -> dict:
    """`role_names` for the top bar: loaded by dashboard_view with the permissions, or
    (a page outside it, such as a 404) asked of the user when a template shows it."""

    def names() -> list[str]:
        loaded = getattr(request, "role_names", None)
        if loaded is not None:
            return loaded
        user = getattr(request, "user", None)
        return user.role_names if user is not None and user.is_authenticated else []

    return {"role_names": names}
