// Copy buttons, the one handler of both kinds:
// - <button data-copy="VALUE"> beside a long id in a list (the {% copyable %} tag, core/templatetags/cells.py):
//   copies the value, marks the button for a moment and announces it as a toast.
// - <button data-copy-from="ID"> under a secret shown once: copies the text of the
//   element with that id and says so on the button for a moment; when it cannot, the
//   text is selected for the person to copy.
(function () {
  "use strict";

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

  function copy(text) {
    return navigator.clipboard && window.isSecureContext
      ? navigator.clipboard.writeText(text)
      : copyBySelection(text);
  }

  function announce(text) {
    // dialog.js shows a `toast` event as a short confirmation.
    document.body.dispatchEvent(new CustomEvent("toast", { detail: text }));
  }

  function select(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function say(button, text) {
    var label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    button.textContent = text;
    window.setTimeout(function () { button.textContent = label; }, 2000);
  }

  function copyValue(button) {
    var text = button.getAttribute("data-copy");
    copy(text).then(function () {
      button.classList.add("copied");
      window.setTimeout(function () { button.classList.remove("copied"); }, 1500);
      announce("Copied " + text);
    }, function () {
      announce("Could not copy; select the text instead");
    });
  }

  function copyElement(button) {
    var source = document.getElementById(button.dataset.copyFrom);
    if (!source) return;
    copy(source.textContent.trim()).then(
      function () { say(button, "Copied"); },
      function () { select(source); say(button, "Press Ctrl+C"); }
    );
  }

  document.addEventListener("click", function (event) {
    var copyButtons = "button[data-copy], [data-copy-from]";
    var button = event.target.closest && event.target.closest(copyButtons);
    if (!button) return;
    if (button.hasAttribute("data-copy")) {
      event.preventDefault();
      copyValue(button);
    } else {
      copyElement(button);
    }
  });
})();
