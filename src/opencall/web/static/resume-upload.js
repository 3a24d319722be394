// The editor's PDF sent in pieces that resumes after a dropped connection (trialapp23).
//
// A form with data-upload-chunks="/proposals/ID/uploads" is sent in chunks: the upload is
// started (the server gives the same one back for the same file, name, size and sha256,
// with what already arrived: a reload resumes too), each chunk is posted at its offset,
// and when the link drops the page says how much arrived, waits (2 s, twice as long after
// each failure, at most a minute, or until the browser is back online), asks the server's
// offset and goes on from there. When all arrived, "finish" stores the file through the
// same checks as a whole upload; its answer is shown as the plain post would show it.
// Without fetch, FormData or Blob.slice, safe-save.js sends the whole file as before.
// The protocol: docs/api.md ("The PDF sent in pieces").
(function () {
  "use strict";
  if (!window.fetch || !window.FormData || !window.Blob || !Blob.prototype.slice) return;
  window.openCallChunks = true; // (safe-save.js leaves these forms to this script)
  document.querySelectorAll("form[data-upload-chunks]").forEach(function (up) {
    var input = up.querySelector("input[type=file]");
    var busy = false;
    var said = null;
    var lang = document.documentElement.lang || undefined;
    function mb(n, size) {
      var digits = size < 1e6 ? 2 : 1; // (a small file's progress shows too)
      return (n / 1e6).toLocaleString(lang, {
        maximumFractionDigits: digits,
        minimumFractionDigits: digits,
      });
    }
    function say(name, done, size, error) {
      if (!said) {
        said = document.createElement("p");
        said.id = "upload-said";
        up.appendChild(said);
      }
      said.className = error ? "error" : "";
      said.setAttribute("role", error ? "alert" : "status");
      said.textContent = (up.getAttribute("data-msg-" + name) || name)
        .replace("%(done)s", mb(done, size))
        .replace("%(size)s", mb(size, size));
    }
    function post(url, fields, blob) {
      var fd = new FormData();
      fd.append("csrf_token", up.elements.csrf_token.value);
      Object.keys(fields).forEach(function (k) {
        fd.append(k, fields[k]);
      });
      if (blob) fd.append("chunk", blob, "chunk");
      return fetch(url, { method: "POST", body: fd, credentials: "same-origin" });
    }
    // the page an answer that is no JSON carries (the sign-in that keeps the form, the
    // editor after finish), shown as the plain post would have shown it
    function show(r) {
      busy = false;
      if (r.redirected) {
        window.location.assign(r.url);
        return null;
      }
      return r.text().then(function (html) {
        document.open();
        document.write(html);
        document.close();
      });
    }
    function answer(r) {
      var type = r.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") !== 0) return show(r);
      return r.json().then(function (body) {
        body.status = r.status;
        return body;
      });
    }
    function sha256(file) {
      var subtle = window.crypto && window.crypto.subtle; // (https pages only)
      if (!subtle || !file.arrayBuffer) return Promise.resolve("");
      return file
        .arrayBuffer()
        .then(function (buf) {
          return subtle.digest("SHA-256", buf);
        })
        .then(function (d) {
          return Array.prototype.map
            .call(new Uint8Array(d), function (b) {
              return (b < 16 ? "0" : "") + b.toString(16);
            })
            .join("");
        })
        .catch(function () {
          return "";
        });
    }
    function send(file) {
      var url = null;
      var offset = 0;
      var chunk = 0;
      var wait = 2000;
      function stop(body) {
        busy = false;
        if (body && body.error) say(body.error, 0, 0, true);
      }
      function dropped(then) {
        say("piece-dropped", offset, file.size, true);
        var again = function () {
          window.removeEventListener("online", again);
          clearTimeout(timer);
          then();
        };
        var timer = setTimeout(again, wait);
        wait = Math.min(wait * 2, 60000);
        window.addEventListener("online", again);
      }
      function begin() {
        return sha256(file).then(function (sum) {
          return post(up.getAttribute("data-upload-chunks"), {
            filename: file.name,
            size: String(file.size),
            sha256: sum,
          })
            .then(answer)
            .then(function (body) {
              if (!body) return;
              if (body.status !== 201) return stop(body);
              url = body.url;
              offset = body.offset;
              chunk = body.chunk_bytes;
              next();
            }, dropped.bind(null, begin));
        });
      }
      function resume() {
        // what arrived before the drop: the server's offset (404: dropped, start again)
        fetch(url, { credentials: "same-origin" })
          .then(answer)
          .then(function (body) {
            if (!body) return;
            if (body.status === 404) return begin();
            offset = body.offset;
            next();
          }, dropped.bind(null, resume));
      }
      function next() {
        if (offset >= file.size) return finish();
        say("progress", offset, file.size);
        post(url, { offset: String(offset) }, file.slice(offset, offset + chunk))
          .then(answer)
          .then(function (body) {
            if (!body) return;
            if (body.status === 404) return begin();
            if (body.status !== 200 && body.status !== 409) return stop(body);
            offset = body.offset;
            wait = 2000;
            next();
          }, dropped.bind(null, resume));
      }
      function finish() {
        say("finishing", offset, file.size);
        post(url + "/finish", { version: up.elements.version.value }).then(
          function (r) {
            // 404: finished already (the answer to an earlier finish was lost), or swept
            if (r.status !== 404) return show(r);
            busy = false;
            window.location.assign(window.location.pathname + "#attachments");
          },
          dropped.bind(null, finish)
        );
      }
      begin();
    }
    up.addEventListener("submit", function (ev) {
      var file = input && input.files && input.files[0];
      if (ev.defaultPrevented || !file || !up.hasAttribute("data-upload-chunks")) return;
      ev.preventDefault();
      if (busy) return;
      busy = true;
      send(file);
    });
    // leaving while a file is on its way would stop it: ask first
    window.addEventListener("beforeunload", function (ev) {
      if (!busy) return;
      ev.preventDefault();
      ev.returnValue = "";
    });
  });
})();
