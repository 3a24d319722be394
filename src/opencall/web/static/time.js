// Progressive enhancement: show deadlines in the reader's local time beside UTC
// (not where the page already shows them in the zone of the reader's account).
document.querySelectorAll("time[datetime]:not([data-zone])").forEach(function (el) {
  var d = new Date(el.getAttribute("datetime"));
  if (isNaN(d)) return;
  var s = document.createElement("span");
  s.className = "local";
  s.textContent = " (" + d.toLocaleString(document.documentElement.lang || undefined, {dateStyle: "medium", timeStyle: "short"}) + ")";
  el.after(s);
});

// The account form: suggest the browser's own zone for an empty time-zone field.
(function () {
  var zone = document.getElementById("f-time_zone");
  if (zone && !zone.value && window.Intl) {
    zone.placeholder = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  }
})();
