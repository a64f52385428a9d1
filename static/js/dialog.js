// Dialog glue for HTMX: a <dialog data-dialog> appended to the page opens as a modal
// (focus moves in, Escape closes, focus returns to what opened it), closes on the
// server's `closeDialog` event, and `toast` events show the outcome (an error stays
// longer and is announced at once). Also: Space opens a link that acts as a button, and a checkbox with data-submit-label renames
// its form's submit button while ticked ("Record refund").
(function () {
  "use strict";

  var opener = null;

  function openDialog(dialog) {
    if (dialog.open || !dialog.isConnected) return;
    document.querySelectorAll("dialog[data-dialog][open]").forEach(function (other) {
      if (other !== dialog) other.close();
    });
    opener = document.activeElement;
    dialog.addEventListener("close", function () {
      dialog.remove();
      // The opener may have been re-rendered meanwhile (the page refreshes itself):
      // then its replacement, found by id, gets the focus back.
      var target = opener && (opener.isConnected ? opener : opener.id && document.getElementById(opener.id));
      if (target) target.focus();
      opener = null;
    });
    dialog.showModal();
  }

  function closeDialogs() {
    document.querySelectorAll("dialog[data-dialog][open]").forEach(function (dialog) {
      dialog.close();
    });
  }

  function showToast(text, level) {
    var region = document.getElementById("toasts");
    if (!region || !text) return;
    level = level || "success";
    var toast = document.createElement("div");
    toast.className = "toast toast-" + level;
    toast.setAttribute("role", level === "error" ? "alert" : "status");
    toast.textContent = text;
    region.appendChild(toast);
    var stay = level === "error" ? 9000 : 4000;
    window.setTimeout(function () { toast.classList.add("toast-leaving"); }, stay);
    window.setTimeout(function () { toast.remove(); }, stay + 600);
  }

  // Errors re-rendered inside a dialog: move focus to the first field in error.
  function focusFirstError(root) {
    var invalid = root.querySelector(
      "[aria-invalid='true'], .field-invalid input, .field-invalid select, .field-invalid textarea, .alert-error"
    );
    if (!invalid) return;
    if (!invalid.matches("input, select, textarea")) invalid.setAttribute("tabindex", "-1");
    invalid.focus();
  }

  // HTMX wires new content only once its swap has settled: what a quick hand typed
  // before then raised no request, and a live summary beside it (the refund dialog's
  // "Refund $5.00 of ...") would go on saying what the server rendered. Say it again
  // (such triggers carry no "changed" modifier: it would take this replay for no change).
  function replayEarlyInput(root) {
    var fields = root.querySelectorAll("input[hx-trigger^='input']");
    fields.forEach(function (field) {
      if (field.value !== field.defaultValue) {
        field.dispatchEvent(new Event("input", { bubbles: true }));
      }
    });
  }

  // New content from HTMX: a dialog to open, or a dialog's form swapped after an error.
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail.elt;
    if (!elt.matches) return;
    replayEarlyInput(elt);
    if (elt.matches("dialog[data-dialog]")) {
      openDialog(elt);
    } else if (elt.closest("dialog[data-dialog][open]")) {
      focusFirstError(elt);
    } else {
      elt.querySelectorAll("dialog[data-dialog]").forEach(openDialog);
    }
  });

  document.addEventListener("click", function (event) {
    var closer = event.target.closest && event.target.closest("[data-close-dialog]");
    if (!closer) return;
    var dialog = closer.closest("dialog");
    if (dialog) {
      event.preventDefault();
      dialog.close();
    }
  });

  // A plain (non-HTMX) form: disable its submit button once sent, against double clicks.
  // The server's one-use form token covers whatever still gets through.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) return;
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") return;
    window.setTimeout(function () {
      form.querySelectorAll("button[type='submit']").forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  document.body.addEventListener("closeDialog", closeDialogs);
  document.body.addEventListener("toast", function (event) {
    var detail = event.detail || {};
    if (typeof detail === "string") return showToast(detail);
    showToast(detail.text || detail.value || detail.message, detail.level);
  });

  // A link with role="button" (it opens a dialog) answers Space as a button does.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key !== " " || !target.matches || !target.matches("a[role='button']")) return;
    event.preventDefault();
    target.click();
  });

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[data-submit-label]") || !box.form) return;
    var submit = box.form.querySelector("button[type='submit']");
    if (!submit) return;
    if (!submit.dataset.defaultLabel) submit.dataset.defaultLabel = submit.textContent;
    submit.textContent = box.checked ? box.getAttribute("data-submit-label") : submit.dataset.defaultLabel;
  });
  // paymentChanged is handled by the payment page itself (hx-trigger="paymentChanged from:body");
  // here it only tells tests and assistive tech that something changed.
  document.body.addEventListener("paymentChanged", function () {
    document.documentElement.dataset.lastChange = String(Date.now());
  });
})();
