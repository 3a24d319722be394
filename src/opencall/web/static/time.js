// Progressive enhancement: show deadlines in the reader's local time beside UTC.
document.querySelectorAll("time[datetime]").forEach(function (el) {
  var d = new Date(el.getAttribute("datetime"));
  if (isNaN(d)) return;
  var s = document.createElement("span");
  s.className = "local";
  s.textContent = " (" + d.toLocaleString(document.documentElement.lang || undefined, {dateStyle: "medium", timeStyle: "short"}) + ")";
  el.after(s);
});
