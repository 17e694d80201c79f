// Forms marked data-warn-unsaved: leaving the page (another round's tab, another week) after
// typing, without saving, asks first, so that what was typed is not lost unnoticed.
// data-warn-unsaved="posted": the page shows posted input that was refused, unsaved from the start.
// Without JavaScript the page works as before, only without the question.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-warn-unsaved]");
    if (!form) {
      return;
    }
    var changed = form.getAttribute("data-warn-unsaved") === "posted";
    form.addEventListener("input", function () { changed = true; });
    form.addEventListener("change", function () { changed = true; });
    form.addEventListener("submit", function () { changed = false; });
    window.addEventListener("beforeunload", function (event) {
      if (changed) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
  });
})();
