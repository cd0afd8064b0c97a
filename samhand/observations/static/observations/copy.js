/* "Copy the text": copies a read-only textarea to the clipboard (no inline script: CSP). */
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.value).then(function () {
        var status = document.getElementById(source.id.replace("-text", "") + "-copy-status");
        if (status) { status.textContent = button.getAttribute("data-copied"); }
      }, function () { source.select(); });
    });
  });
}());
