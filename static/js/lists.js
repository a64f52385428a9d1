// Lists: the filter form's URL, and the pager's way back to the top of the table. Rows
// open without JavaScript (their first link covers the row, see app.css); their copy
// buttons are copy.js's.
(function () {
  "use strict";

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
