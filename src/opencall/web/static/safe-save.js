// Safe saves of a proposal's text on slow links (progressive enhancement: without
// this script the form posts and the page reloads).
//
// - The save runs in the background (fetch, JSON answer); the person keeps typing.
// - The server's answer is merged only into fields not changed since the save began:
//   nothing typed during a save is overwritten.
// - Every form on the page gets the new version (optimistic locking), the "before you
//   can submit" checklist and the word-limit warnings are refreshed, and a status line
//   (aria-live) says "Saved hh:mm".
// - Until the server confirms, the typed text is kept in this browser (localStorage,
//   keyed by proposal and version) and restored, with a notice, after a failed save or
//   a reload.
// - A save sent without an answer coming back (the link dropped, or no answer in time)
//   may have been stored: the page says so, and sends it again by itself. Only a save
//   that surely never left (the browser offline) is reported as not saved.
//
// The form names what it saves: data-safe-save (the drafts' key in this browser),
// data-safe-fields (its fields, space-separated; else a proposal's text). A reviewer's
// form has two buttons (Save draft, Submit): the one pressed is sent with the fields, and
// an answer with "redirect" (the review submitted) ends the drafts and leaves the page.
// A page with data-safe-done="KEY" (the review submitted) ends the drafts of KEY.
// The page's other forms (posted with a reload, no draft kept) ask before the page is left
// with changes typed in them and not sent.
(function () {
  "use strict";
  // a form sent with problems: the summary of all of them is read first
  var summary = document.getElementById("error-summary");
  if (summary && summary.focus) summary.focus();
  // an input's aria-describedby names its error message (when shown) and keeps its hint
  function describe(input, errId, on) {
    var ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) {
      return id && id !== errId;
    });
    if (on) ids.unshift(errId);
    if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
    else input.removeAttribute("aria-describedby");
  }
  // a PDF over the size limit is refused before it is sent (not minutes of upload on a
  // slow link for the server to refuse it); the server checks again
  var pdf = document.querySelector("input[type=file][data-max-bytes]");
  if (pdf && pdf.files !== undefined) {
    var tooLarge = function () {
      var f = pdf.files && pdf.files[0];
      var max = Number(pdf.getAttribute("data-max-bytes"));
      var text = "";
      if (f && max && f.size > max) {
        var lang = document.documentElement.lang || undefined;
        text = (pdf.getAttribute("data-msg-too-large") || "")
          .replace("%(size)s", (f.size / 1e6).toLocaleString(lang, { maximumFractionDigits: 1 }))
          .replace("%(max)s", pdf.getAttribute("data-max-mb") || "");
      }
      pdf.setCustomValidity(text);
      var shown = document.getElementById("err-pdf");
      if (text && !shown) {
        shown = document.createElement("span");
        shown.className = "error";
        shown.id = "err-pdf";
        pdf.parentNode.appendChild(shown);
      }
      if (shown) shown.textContent = text;
      if (text) pdf.setAttribute("aria-invalid", "true");
      else pdf.removeAttribute("aria-invalid");
      describe(pdf, "err-pdf", !!(shown && shown.textContent));
      return !!text;
    };
    pdf.addEventListener("change", tooLarge);
    pdf.form.addEventListener("submit", function (ev) {
      if (tooLarge()) ev.preventDefault();
    });
  }
  var store = null;
  try {
    store = window.localStorage;
    store.setItem("opencall:probe", "1");
    store.removeItem("opencall:probe");
  } catch (e) {
    store = null;
  }
  function dropDrafts(prefix) {
    if (!store) return;
    var keys = [];
    for (var i = 0; i < store.length; i++) {
      var k = store.key(i);
      if (k && k.indexOf(prefix) === 0) keys.push(k);
    }
    keys.forEach(function (k) {
      store.removeItem(k);
    });
  }
  document.querySelectorAll("[data-safe-done]").forEach(function (done) {
    dropDrafts("opencall:draft:" + done.getAttribute("data-safe-done") + ":");
  });
  var form = document.querySelector("form[data-safe-save]");
  // the page's other forms post and reload (a request's targets, an invitation): what is
  // typed in them lives only in the page, so leaving it (a link, the language) with
  // changes not sent asks first
  var unsent = null;
  document.querySelectorAll("main form").forEach(function (f) {
    if (f === form || (f.getAttribute("method") || "").toLowerCase() !== "post") return;
    f.addEventListener("input", function (ev) {
      var kind = ev.target && ev.target.type;
      if (kind !== "checkbox" && kind !== "radio") unsent = f; // a ticked box is no work lost
    });
    f.addEventListener("submit", function (ev) {
      if (!ev.defaultPrevented) unsent = null; // (a PDF over the limit is not sent)
    });
  });
  window.addEventListener("beforeunload", function (ev) {
    if (!unsent) return;
    ev.preventDefault();
    ev.returnValue = "";
  });
  // an upload (data-upload-retry) is sent in the background: when the link drops before
  // an answer comes, the page stays, the file stays chosen and the form says to send it
  // again (a plain post would leave for the browser's error page, the file gone with it);
  // any answer is shown as the post would have shown it. A file sent twice (the answer
  // lost) is stored once (the server's upload_made)
  document.querySelectorAll("form[data-upload-retry]").forEach(function (up) {
    if (!window.fetch || !window.FormData) return;
    var sending = false;
    up.addEventListener("submit", function (ev) {
      if (ev.defaultPrevented) return; // (a PDF over the limit)
      if (window.openCallChunks && up.hasAttribute("data-upload-chunks")) return; // in pieces
      ev.preventDefault();
      if (sending) return;
      sending = true;
      var said = document.getElementById("upload-said");
      if (said) said.textContent = "";
      fetch(up.getAttribute("action"), {
        method: "POST",
        body: new FormData(up),
        credentials: "same-origin",
      })
        .then(function (r) {
          if (r.redirected) {
            window.location.assign(r.url);
            return;
          }
          return r.text().then(function (html) {
            document.open();
            document.write(html);
            document.close();
          });
        })
        .catch(function () {
          if (!said) {
            said = document.createElement("p");
            said.id = "upload-said";
            said.className = "error";
            said.setAttribute("role", "alert");
            up.appendChild(said);
          }
          said.textContent = up.getAttribute("data-msg-dropped") || "";
          unsent = up; // not sent: leaving the page would lose the chosen file
        })
        .then(function () {
          sending = false;
        });
    });
  });
  if (!form || !window.fetch || !window.FormData) return;
  var pid = form.getAttribute("data-safe-save");
  var FIELDS = (form.getAttribute("data-safe-fields") || "title abstract science_case keywords")
    .split(/\s+/)
    .filter(Boolean);
  var PREFIX = "opencall:draft:" + pid + ":";
  var status = document.getElementById("save-status");

  function msg(name) {
    return form.getAttribute("data-msg-" + name) || "";
  }
  function el(name) {
    return form.elements[name];
  }
  function values() {
    var out = {};
    FIELDS.forEach(function (k) {
      if (el(k)) out[k] = el(k).value;
    });
    return out;
  }
  function version() {
    return el("version") ? el("version").value : "0";
  }
  // a text area's value has LF line breaks, the text a form sent (and the server keeps)
  // CRLF ones: compared as the text area holds them
  function lf(v) {
    return v === undefined || v === null ? v : String(v).replace(/\r\n?/g, "\n");
  }
  // what the server holds for each field (as last rendered or confirmed)
  var base = values();

  function say(text, isError) {
    if (!status) return;
    status.textContent = text;
    status.className = isError ? "error" : "";
  }
  function hhmm(iso) {
    var d = iso ? new Date(iso) : new Date();
    if (isNaN(d)) d = new Date();
    return d.toLocaleTimeString(document.documentElement.lang || undefined, {
      hour: "2-digit",
      minute: "2-digit",
    });
  }

  // ------------------------------------------------------------ drafts
  function draftKeys() {
    var keys = [];
    if (!store) return keys;
    for (var i = 0; i < store.length; i++) {
      var k = store.key(i);
      if (k && k.indexOf(PREFIX) === 0) keys.push(k);
    }
    return keys;
  }
  function clearDrafts() {
    dropDrafts(PREFIX);
  }
  function keepDraft() {
    if (!store) return;
    var now = values();
    var changed = {};
    var any = false;
    FIELDS.forEach(function (k) {
      if (k in now && now[k] !== base[k]) {
        changed[k] = now[k];
        any = true;
      }
    });
    clearDrafts();
    if (!any) return;
    try {
      store.setItem(
        PREFIX + version(),
        JSON.stringify({ fields: changed, base: base, at: Date.now() })
      );
    } catch (e) {
      /* quota: the server copy is all there is */
    }
  }

  function restoreDrafts() {
    var keys = draftKeys();
    if (!keys.length) return;
    var draft = null;
    try {
      draft = JSON.parse(store.getItem(keys[keys.length - 1]));
    } catch (e) {
      draft = null;
    }
    if (!draft || !draft.fields) return;
    var names = Object.keys(draft.fields).filter(function (k) {
      return el(k) && draft.fields[k] !== el(k).value;
    });
    if (!names.length) {
      clearDrafts();
      return;
    }
    // the fields the draft changed still hold, on the server, what the draft started
    // from: nobody else changed them, so the draft goes back in at once
    var unchanged = names.every(function (k) {
      return draft.base && draft.base[k] === el(k).value;
    });
    var notice = document.createElement("div");
    notice.className = "notice";
    notice.setAttribute("role", "status");
    notice.id = "draft-restored";
    var put = function () {
      names.forEach(function (k) {
        el(k).value = draft.fields[k];
      });
      keepDraft();
    };
    if (unchanged) {
      put();
      notice.textContent = msg("restored");
    } else {
      var p = document.createElement("p");
      p.textContent = msg("restore-old");
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = msg("restore-button");
      b.addEventListener("click", function () {
        put();
        notice.textContent = msg("restored");
      });
      notice.appendChild(p);
      notice.appendChild(b);
    }
    form.insertBefore(notice, form.firstChild);
  }

  // ------------------------------------------------------------ after a save
  function setVersion(v) {
    document.querySelectorAll('input[name="version"]').forEach(function (input) {
      input.value = v;
    });
  }
  function showErrors(errors) {
    form.querySelectorAll("span.error[data-js]").forEach(function (s) {
      s.remove();
    });
    FIELDS.forEach(function (k) {
      var input = el(k);
      if (!input) return;
      var old = document.getElementById("err-" + k);
      if (old) old.remove();
      if (errors && errors[k]) {
        var s = document.createElement("span");
        s.className = "error";
        s.id = "err-" + k;
        s.setAttribute("data-js", "1");
        s.textContent = errors[k];
        input.parentNode.appendChild(s);
        input.setAttribute("aria-invalid", "true");
        describe(input, "err-" + k, true);
      } else {
        input.removeAttribute("aria-invalid");
        describe(input, "err-" + k, false); // its hint (word limit) stays tied to it
      }
    });
  }
  function showWarnings(warnings) {
    ["abstract", "science_case"].forEach(function (k) {
      var w = document.getElementById("warn-" + k);
      if (!w) return;
      w.textContent = (warnings && warnings[k]) || "";
      w.hidden = !(warnings && warnings[k]);
    });
  }
  function showChecklist(problems) {
    var box = document.getElementById("checklist");
    if (!box) return;
    var ul = box.querySelector("ul");
    ul.textContent = "";
    (problems || []).forEach(function (m) {
      var li = document.createElement("li");
      li.textContent = m;
      ul.appendChild(li);
    });
    box.hidden = !(problems && problems.length);
    var submit = document.querySelector('form[action$="/submit"] button');
    if (submit) submit.disabled = !!(problems && problems.length);
  }

  // ------------------------------------------------------------ saving
  var inFlight = false;
  var again = false;
  // the button pressed (a reviewer's Save draft or Submit), sent with the fields
  var pressed = null;
  function withPressed(body) {
    if (pressed && pressed.name) body.append(pressed.name, pressed.value);
    return body;
  }
  // what the last save sent when its answer never came (the connection dropped): the
  // server may have stored it, and the next save then carries a version one behind
  var unsure = null;
  function same(a, b) {
    return String(a).trim() === String(b).trim();
  }

  // a save with no answer is sent again by itself: after data-save-retry-ms (else 15 s),
  // then twice as long each time (at most 5 minutes), or as soon as the browser is
  // back online; a Save pressed in between goes at once
  var retryTimer = null;
  var retryDelay = 0;
  function retryLater() {
    var first = Number(form.getAttribute("data-save-retry-ms")) || 15000;
    retryDelay = retryDelay ? Math.min(retryDelay * 2, 300000) : first;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = setTimeout(save, retryDelay);
  }
  window.addEventListener("online", function () {
    if (retryTimer) save();
  });

  function save() {
    if (inFlight) {
      again = true;
      return;
    }
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = null;
    inFlight = true;
    again = false;
    // offline before sending: this request surely never leaves the browser
    var offline = navigator.onLine === false;
    var sent = values();
    keepDraft();
    say(msg("saving"), false);
    var body = withPressed(new FormData(form));
    // a link gone dead without closing gives neither an answer nor an error for minutes:
    // past the time-out (data-save-timeout-ms, else 60 s) the save is given up as failed,
    // so that the next Save is sent instead of waiting behind it
    var stop = window.AbortController ? new AbortController() : null;
    var limit = Number(form.getAttribute("data-save-timeout-ms")) || 60000;
    var timer = stop
      ? setTimeout(function () {
          stop.abort();
        }, limit)
      : null;
    // (the attribute: a reviewer's buttons are named "action", which hides form.action)
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal: stop ? stop.signal : undefined,
    })
      .then(function (r) {
        var json = (r.headers.get("content-type") || "").indexOf("json") !== -1;
        if (!json && (r.status === 401 || r.status === 403)) {
          return { status: r.status, resume: true };
        }
        return r.json().then(function (data) {
          return { status: r.status, data: data };
        });
      })
      .then(function (res) {
        if (res.resume) {
          // the session ended (or the form's token expired) while the page was open: the
          // form is sent again without this script, and the server's answer keeps the text
          // through a new sign-in and sends it after; the draft stays in this browser too
          say(msg("signed-out"), true);
          again = false;
          if (pressed && pressed.name) {
            var hidden = document.createElement("input");
            hidden.type = "hidden";
            hidden.name = pressed.name;
            hidden.value = pressed.value;
            form.appendChild(hidden);
          }
          HTMLFormElement.prototype.submit.call(form);
          return;
        }
        var data = res.data || {};
        if (data.version) setVersion(data.version);
        if (data.ok && data.redirect) {
          // done with (a review submitted): nothing is left in this browser
          clearDrafts();
          again = false;
          window.location.assign(data.redirect);
          return;
        }
        if (data.ok) {
          unsure = null;
          retryDelay = 0;
          // merge: only fields left alone since the save began take the stored text
          FIELDS.forEach(function (k) {
            if (!el(k) || !data.fields || !(k in data.fields)) return;
            if (el(k).value === sent[k]) el(k).value = data.fields[k];
            base[k] = lf(data.fields[k]);
          });
          showErrors({});
          showWarnings(data.warnings);
          showChecklist(data.problems);
          keepDraft(); // only what was typed during the save stays in the browser
          say(msg("saved").replace("%(time)s", hhmm(data.saved_at)), false);
        } else {
          var errors = data.errors || {};
          showErrors(errors);
          say(errors.form || Object.values(errors)[0] || msg("failed"), true);
          if (res.status === 409 && data.fields) {
            // refused as changed elsewhere: when every change the server holds is the
            // one the save whose answer was lost sent, it was this page's own; the
            // save goes again, on the version it made
            var mine =
              unsure &&
              FIELDS.every(function (k) {
                return (
                  !(k in data.fields) ||
                  same(data.fields[k], base[k]) ||
                  (k in unsure && same(data.fields[k], unsure[k]))
                );
              });
            unsure = null;
            FIELDS.forEach(function (k) {
              base[k] = lf(data.fields[k]);
            });
            keepDraft();
            if (mine) {
              showErrors({});
              say(msg("saving"), false);
              again = true;
            }
          }
        }
      })
      .catch(function () {
        if (offline) {
          say(msg("failed"), true);
          return;
        }
        // sent, and no answer came back: the server may or may not have stored it
        unsure = sent;
        say(msg("no-answer"), true);
        retryLater();
      })
      .then(function () {
        if (timer) clearTimeout(timer);
        inFlight = false;
        if (again) save();
      });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    pressed = ev.submitter || null;
    save();
  });
  form.addEventListener("input", keepDraft);
  restoreDrafts();
})();

// The editor's PDF sent in pieces that resumes after a dropped connection (trialapp23).
//
// A form with data-upload-chunks="/proposals/ID/uploads" is sent in chunks: the upload is
// started (the server gives the same one back for the same file, name, size and sha256,
// with what already arrived: a reload resumes too), each chunk is posted at its offset,
// and when the link drops the page says how much arrived, waits (2 s, twice as long after
// each failure, at most a minute, or until the browser is back online), asks the server's
// offset and goes on from there. When all arrived, "finish" stores the file through the
// same checks as a whole upload; its answer is shown as the plain post would show it.
// Without fetch, FormData or Blob.slice, the upload handler above sends the whole file.
// (In this file, not one of its own: a page's first visit stays at four requests.)
// The protocol: docs/api.md ("The PDF sent in pieces").
(function () {
  "use strict";
  if (!window.fetch || !window.FormData || !window.Blob || !Blob.prototype.slice) return;
  window.openCallChunks = true; // (the upload handler above leaves these forms to this part)
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
