// Searchable pickers: a text box above every <select data-search> that hides the options
// not matching what is typed. Without JavaScript the plain select still works.
(function () {
  "use strict";
  function enhance(select) {
    var box = document.createElement("input");
    box.type = "search";
    box.className = "picker-search";
    box.placeholder = "输入名称筛选";
    box.setAttribute("aria-label", "筛选" + (select.labels && select.labels[0] ? select.labels[0].textContent : ""));
    box.addEventListener("input", function () {
      var needle = box.value.trim();
      Array.prototype.forEach.call(select.options, function (option) {
        option.hidden = needle !== "" && option.text.indexOf(needle) === -1 && !option.selected;
      });
    });
    select.parentNode.insertBefore(box, select);
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("select[data-search]"), enhance);
  });
})();
