// Lists: copy buttons beside long ids, and the pager's way back to the top of the table.
// Rows open without JavaScript (their first link covers the row, see app.css).
(function () {
  "use strict";

  function announce(text) {
    // dialog.js shows a `toast` event as a short confirmation.
    document.body.dispatchEvent(new CustomEvent("toast", { detail: text }));
  }

  // Outside a secure context (plain http on another host) there is no clipboard API:
  // copy through a selected, off-screen text area instead.
  function copyBySelection(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    area.remove();
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) return;
    event.preventDefault();
    var text = button.getAttribute("data-copy");
    var copying = navigator.clipboard && window.isSecureContext
      ? navigator.clipboard.writeText(text)
      : copyBySelection(text);
    copying.then(function () {
      button.classList.add("copied");
      window.setTimeout(function () { button.classList.remove("copied"); }, 1500);
      announce("Copied " + text);
    }, function () {
      announce("Could not copy; select the text instead");
    });
  });

  // A list's filter form sends only the filters in use, so the URL it pushes reads as
  // what was asked (?q=ord-101), not as a row of empty fields.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (event.detail.verb !== "get" || !elt.closest || !elt.closest("form.filters")) return;
    var params = event.detail.parameters;
    Object.keys(params).forEach(function (name) {
      if (params[name] === "") delete params[name];
    });
  });

  // Newer / Older swap the list in place: bring its top back into view (when it is
  // above the window) and move the focus there, so the next page reads from its start.
  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail.requestConfig;
    var link = config && config.elt;
    if (!link || !link.hasAttribute || !link.hasAttribute("data-pager")) return;
    var list = document.querySelector(link.getAttribute("hx-target"));
    if (!list) return;
    if (list.getBoundingClientRect().top < 0) list.scrollIntoView({ block: "start" });
    list.focus({ preventScroll: true });
  });
})();
