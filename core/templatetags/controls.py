"""Controls the dashboard's pages draw many times: the link that opens a dialog (a
page's button, a row's action) and a link of the main navigation. Tags rather than
included templates, as core.templatetags.cells says; a builtin (settings.TEMPLATES)."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def dialog_button(
    url: str,
    label: str,
    *,
    id: str | None = None,
    style: str | None = None,
    small: bool = False,
    about: str | None = None,
) -> SafeString:
    """A control that opens the dialog at `url`: a real link for the no-JavaScript
    path, a button to assistive technology (SPEC 8.1; static/js/dialog.js makes Space
    activate it like Enter). `style` is primary, danger-outline…; `small` for a row's
    action, whose `about` says which row it acts on ("Revoke <key name>")."""
    classes = ["button"]
    if small:
        classes.append("button-small")
    if style:
        classes.append(f"button-{style}")
    attributes = [("class", " ".join(classes))]
    if id:
        attributes.append(("id", id))
    attributes += [
        ("href", url),
        ("role", "button"),
        ("aria-haspopup", "dialog"),
        ("hx-get", url),
        ("hx-target", "body"),
        ("hx-swap", "beforeend"),
        ("hx-push-url", "false"),
    ]
    if about:
        attributes.append(("aria-label", f"{label} {about}"))
    return format_html("<a {}>{}</a>", format_html_join(" ", '{}="{}"', attributes), label)


@register.simple_tag(takes_context=True)
def nav_link(context, url_name: str, label: str, *, current: str) -> SafeString:
    """A link of the main navigation, marked as the current page when the view's `nav`
    is `current`."""
    if context.get("nav") == current:
        return format_html('<a href="{}" aria-current="page">{}</a>', reverse(url_name), label)
    return format_html('<a href="{}">{}</a>', reverse(url_name), label)
