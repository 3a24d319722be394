// Progressive enhancement: show deadlines in the reader's local time beside UTC
// (not where the page already shows them in the zone of the reader's account), with
// the zone's offset that day ("GMT+6"): a bare local time reads as another zone's.
document.querySelectorAll("time[datetime]:not([data-zone])").forEach(function (el) {
  var d = new Date(el.getAttribute("datetime"));
  if (isNaN(d)) return;
  var lang = document.documentElement.lang || undefined;
  var offset = "";
  try {
    offset = new Intl.DateTimeFormat(lang, {timeZoneName: "shortOffset"})
      .formatToParts(d)
      .filter(function (p) { return p.type === "timeZoneName"; })
      .map(function (p) { return " " + p.value; })
      .join("");
  } catch (e) {
    offset = ""; // an older browser without "shortOffset"
  }
  var s = document.createElement("span");
  s.className = "local";
  s.textContent = " (" + d.toLocaleString(lang, {dateStyle: "medium", timeStyle: "short"}) + offset + ")";
  el.after(s);
});

// The account form: suggest the browser's own zone for an empty time-zone field.
(function () {
  var zone = document.getElementById("f-time_zone");
  if (zone && !zone.value && window.Intl) {
    zone.placeholder = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  }
})();

// A table that cannot fit a phone's screen with its words whole reads one block a row,
// each cell under its column's name (site.css: table.stack): squeezed into 360 pixels,
// its cells broke words into pieces ("éva/lua/tion"). Display blocks would hide a table
// from some screen readers, so while it is stacked its parts are named (role) as a
// table's; a table that fits, or on a wider screen, is a plain table. Tables of inputs
// that scroll in their own box (.scroll) and the week's grid stay tables.
(function () {
  var narrow = window.matchMedia && window.matchMedia("(max-width: 40rem)");
  if (!narrow) return;
  var tables = [];
  document.querySelectorAll("main table").forEach(function (table) {
    var head = table.tHead && table.tHead.rows.length === 1 ? table.tHead.rows[0] : null;
    if (!head || head.cells.length < 2 || table.closest(".scroll") || table.classList.contains("week")) return;
    if (table.querySelector("[rowspan], thead [colspan]")) return;
    var names = Array.prototype.map.call(head.cells, function (c) { return c.textContent.trim(); });
    var parts = [[table, "table"]];
    table.querySelectorAll(":scope > thead, :scope > tbody, :scope > tfoot").forEach(function (g) {
      parts.push([g, "rowgroup"]);
    });
    Array.prototype.forEach.call(table.rows, function (row) {
      parts.push([row, "row"]);
      var column = 0; // a cell spanning columns (a list's "none yet") is not labelled
      Array.prototype.forEach.call(row.cells, function (cell) {
        if (row === head) return parts.push([cell, "columnheader"]);
        parts.push([cell, cell.tagName === "TH" ? "rowheader" : "cell"]);
        if (cell.colSpan === 1 && names[column]) cell.setAttribute("data-label", names[column]);
        if (!cell.textContent.trim() && !cell.children.length) cell.setAttribute("data-empty", "");
        column += cell.colSpan;
      });
    });
    tables.push({table: table, parts: parts});
  });
  // laid out with its words whole (site.css: table.whole-words), is it wider than its box?
  // One that fits stays so (a cell wrapping anywhere squeezes its columns past their words)
  function tooWide(table) {
    table.classList.remove("stack");
    table.classList.add("whole-words");
    var box = table.parentNode, style = getComputedStyle(box);
    var room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    var wide = table.offsetWidth > room + 1;
    table.classList.toggle("whole-words", !wide);
    return wide;
  }
  function stack() {
    tables.forEach(function (t) {
      var on = narrow.matches && tooWide(t.table);
      t.table.classList.toggle("stack", on);
      t.parts.forEach(function (p) {
        if (on) p[0].setAttribute("role", p[1]);
        else p[0].removeAttribute("role");
      });
    });
  }
  stack();
  var pending = false; // a turned phone: once a frame
  window.addEventListener("resize", function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; stack(); });
  });
})();
