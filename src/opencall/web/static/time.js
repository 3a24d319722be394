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
