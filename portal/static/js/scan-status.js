/* The virus scan of uploaded files, updated in place.
 *
 * A page with files still being scanned carries [data-scan-status-url] (and a link that
 * reloads it, for use without JavaScript). While any file's [data-scan-status] is pending
 * or waiting, this polls that address: every 2 s, every 5 s after a minute, every 15 s
 * after five. Each file's status text is replaced, a file found clean becomes a link, the
 * change is told through the polite live region, and when the draft can be sent the
 * disabled send button ([data-scan-send]) is enabled and its reason ([data-scan-reason])
 * hidden. Polling stops when nothing is pending. The texts come from the server, in the
 * page's language. No inline script or style: the Content-Security-Policy allows neither.
 */
(function () {
  "use strict";

  var UNFINISHED = { pending: true, waiting: true };
  var timer = null;
  var started = 0;
  var root = null;

  function delay(first) {
    var waited = Date.now() - started;
    if (waited > 300000) { return 15000; }
    if (waited > 60000) { return 5000; }
    return first || 2000;
  }

  function unfinished() {
    var marks = document.querySelectorAll("[data-scan-status]");
    for (var i = 0; i < marks.length; i++) {
      if (UNFINISHED[marks[i].getAttribute("data-scan-status")]) { return true; }
    }
    return false;
  }

  function each(selector, fn) {
    var found = document.querySelectorAll(selector);
    for (var i = 0; i < found.length; i++) { fn(found[i]); }
  }

  function linkName(id, url) {
    each('[data-scan-name="' + id + '"]', function (name) {
      var link = document.createElement("a");
      link.href = url;
      link.textContent = name.textContent;
      name.replaceWith(link);
    });
  }

  function update(file, doneLabel) {
    var said = null;
    each('[data-scan-file="' + file.id + '"]', function (mark) {
      if (mark.getAttribute("data-scan-status") === file.status) { return; }
      mark.setAttribute("data-scan-status", file.status);
      mark.className = "scan-status scan-" + file.status;
      mark.textContent = file.label;
      var row = mark.closest("li");
      var name = row && row.querySelector('[data-scan-name="' + file.id + '"]');
      said = (name ? name.textContent + ": " : "") + (file.label || doneLabel);
    });
    if (file.url) { linkName(file.id, file.url); }
    return said;
  }

  function apply(answer) {
    var told = [];
    (answer.files || []).forEach(function (file) {
      var said = update(file, answer.done_label || "");
      if (said) { told.push(said); }
    });
    each("[data-scan-send]", function (button) { button.disabled = !answer.ready; });
    each("[data-scan-reason]", function (box) {
      box.hidden = !!answer.ready;
      if (!answer.ready && answer.reason && !unfinished()) { box.textContent = answer.reason; }
    });
    if (!unfinished()) { each("[data-scan-refresh]", function (p) { p.hidden = true; }); }
    var live = document.querySelector("[data-scan-live]");
    if (live && told.length) { live.textContent = told.join(". "); }
  }

  function poll(wait) {
    timer = window.setTimeout(function () {
      timer = null;
      if (!root || !document.body.contains(root)) { return; }
      fetch(root.getAttribute("data-scan-status-url"), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store"
      }).then(function (response) {
        if (response.ok) { return response.json(); }
        // Asked too often, or the server busy: try again later. Signed out, or the case
        // gone: stop; the reload link is still there.
        if (response.status === 429 || response.status >= 500) { return null; }
        throw new Error(String(response.status));
      }, function () {
        return null;  // no connection just now: try again later
      }).then(function (answer) {
        if (answer) { apply(answer); }
        if (unfinished()) { poll(delay(answer && answer.poll_ms)); }
      }).catch(function () { return null; });
    }, wait);
  }

  function start() {
    if (timer !== null) { window.clearTimeout(timer); timer = null; }
    root = document.querySelector("[data-scan-status-url]");
    if (!root || !window.fetch || !unfinished()) { return; }
    started = Date.now();
    poll(delay());
  }

  // upload-progress.js shows the answer to a post by replacing the body: start again.
  new MutationObserver(function (changes) {
    for (var i = 0; i < changes.length; i++) {
      for (var j = 0; j < changes[i].addedNodes.length; j++) {
        if (changes[i].addedNodes[j].nodeName === "BODY") { start(); return; }
      }
    }
  }).observe(document.documentElement, { childList: true });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
