// Progressive enhancement of a live job page: fetch the page again every few seconds and
// swap the #job region in place (no full reload, no flicker); when the job has ended,
// the new region has no data-live and polling stops. Without JavaScript the page's
// <noscript> meta refresh does the same with whole reloads.
(function () {
  var box = document.getElementById("job");
  if (!box || !box.dataset.live) return;
  var every = parseInt(box.dataset.poll || "2000", 10);
  function tick() {
    fetch(window.location.href, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("job");
        if (!fresh) return;
        box.innerHTML = fresh.innerHTML;
        if (fresh.dataset.live) {
          setTimeout(tick, every);
        } else {
          delete box.dataset.live;
          box.removeAttribute("data-live");
        }
      })
      .catch(function () { setTimeout(tick, every * 2); });
  }
  setTimeout(tick, every);
})();
