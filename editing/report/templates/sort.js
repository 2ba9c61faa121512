// Click a header to sort by that column; numbers sort as numbers (cells may carry data-sort).
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var ascending = th.getAttribute("data-order") !== "asc";
      th.setAttribute("data-order", ascending ? "asc" : "desc");
      function key(row) {
        var cell = row.cells[column], text = cell.getAttribute("data-sort") || cell.textContent;
        var number = parseFloat(text);
        return isNaN(number) ? text.toLowerCase() : number;
      }
      rows.sort(function (upper, lower) {
        var upperKey = key(upper), lowerKey = key(lower);
        var order = upperKey < lowerKey ? -1 : upperKey > lowerKey ? 1 : 0;
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
