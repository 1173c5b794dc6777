/* Upload progress for forms marked data-upload-progress.
 *
 * Without JavaScript the form posts as usual. With it, a form that carries files
 * is sent with XMLHttpRequest so that a progress bar can show how far the upload
 * has come; the server's answer (the next page, or the form with its messages)
 * then replaces the page. Files over the size limit are caught before upload.
 * No inline script or style: the page's Content-Security-Policy allows neither.
 */
(function () {
  "use strict";

  var LANG_SV = (document.documentElement.lang || "sv").indexOf("en") !== 0;
  var TEXT = LANG_SV ? {
    uploading: "Laddar upp … %s %",
    processing: "Filen är uppladdad. Kontrollerar och sparar …",
    failed: "Uppladdningen avbröts. Kontrollera anslutningen och försök igen. Inget har skickats in.",
    tooLarge: "Filen %name är för stor. Den största fil som kan tas emot är %max MB.",
    tooMuch: "Filerna är tillsammans för stora för att skickas på en gång (högst %max MB). " +
      "Spara utkastet med några av filerna och lägg till resten efteråt."
  } : {
    uploading: "Uploading … %s %",
    processing: "Upload complete. Checking and saving …",
    failed: "The upload was interrupted. Check your connection and try again. Nothing was submitted.",
    tooLarge: "The file %name is too large. The largest file accepted is %max MB.",
    tooMuch: "The files are too large to send at once (at most %max MB together). " +
      "Save the draft with some of them and add the rest afterwards."
  };

  function hasFiles(form) {
    var inputs = form.querySelectorAll("input[type=file]");
    for (var i = 0; i < inputs.length; i++) {
      if (inputs[i].files && inputs[i].files.length) { return true; }
    }
    return false;
  }

  function fileError(input, message) {
    var id = input.id + "-size-error";
    var old = document.getElementById(id);
    if (old) { old.parentNode.removeChild(old); }
    if (!message) { input.removeAttribute("aria-invalid"); return; }
    var p = document.createElement("p");
    p.className = "error";
    p.id = id;
    p.textContent = message;
    input.parentNode.insertBefore(p, input);
    input.setAttribute("aria-invalid", "true");
  }

  function checkSize(input) {
    var max = parseInt(input.getAttribute("data-max-bytes"), 10);
    if (!max || !input.files) { return true; }
    for (var i = 0; i < input.files.length; i++) {
      if (input.files[i].size > max) {
        fileError(input, TEXT.tooLarge.replace("%name", input.files[i].name)
          .replace("%max", String(Math.round(max / 1048576))));
        return false;
      }
    }
    fileError(input, "");
    return true;
  }

  function status(form) {
    var box = form.querySelector(".upload-status");
    return box && {
      box: box,
      bar: box.querySelector("progress"),
      text: box.querySelector(".upload-text")
    };
  }

  function setBusy(form, busy) {
    var buttons = form.querySelectorAll("button[type=submit]");
    for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = busy; }
    if (busy) { form.setAttribute("aria-busy", "true"); } else { form.removeAttribute("aria-busy"); }
  }

  function showPage(xhr) {
    var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
    if (!doc.body || !doc.querySelector("main")) {
      window.location.assign(xhr.responseURL || window.location.href);
      return;
    }
    document.title = doc.title;
    // Scripts of the parsed page do not run; this one stays loaded and keeps listening.
    document.body.replaceWith(document.adoptNode(doc.body));
    if (xhr.responseURL && window.history.replaceState) {
      // The form's page again: its address without the upload token of the post.
      var shown = new URL(xhr.responseURL);
      shown.searchParams.delete("upload_token");
      window.history.replaceState(null, "", shown.pathname + shown.search + shown.hash);
    }
    var target = document.getElementById("fel") || document.getElementById("main");
    if (target) { target.focus(); }
    window.scrollTo(0, 0);
  }

  // Back to a page from the browser's cache: its forms may be sent again.
  window.addEventListener("pageshow", function () {
    var sending = document.querySelectorAll("form[data-sending]");
    for (var i = 0; i < sending.length; i++) {
      sending[i].removeAttribute("data-sending");
      setBusy(sending[i], false);
    }
  });

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.type === "file" && input.hasAttribute("data-max-bytes")) { checkSize(input); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-upload-progress")) { return; }
    if (form.getAttribute("data-sending") === "1") { event.preventDefault(); return; }
    var inputs = form.querySelectorAll("input[type=file][data-max-bytes]");
    for (var i = 0; i < inputs.length; i++) {
      if (!checkSize(inputs[i])) { event.preventDefault(); inputs[i].focus(); return; }
    }
    var total = 0;
    var all = form.querySelectorAll("input[type=file]");
    for (var j = 0; j < all.length; j++) {
      for (var f = 0; f < (all[j].files ? all[j].files.length : 0); f++) { total += all[j].files[f].size; }
    }
    var maxTotal = parseInt(form.getAttribute("data-max-total"), 10);
    if (maxTotal && total > maxTotal && all.length) {
      event.preventDefault();
      fileError(all[0], TEXT.tooMuch.replace("%max", String(Math.floor(maxTotal / 1048576))));
      all[0].focus();
      return;
    }
    if (!hasFiles(form) || !window.FormData || !window.DOMParser) {
      form.setAttribute("data-sending", "1");  // a second click does not post again
      return;
    }
    event.preventDefault();
    var data = new FormData(form);
    var submitter = event.submitter;
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var ui = status(form);
    var xhr = new XMLHttpRequest();
    // Not form.action: the buttons named "action" shadow that property.
    xhr.open("POST", new URL(form.getAttribute("action") || "", window.location.href).href);
    xhr.setRequestHeader("Accept", "text/html");
    if (ui) {
      ui.box.hidden = false;
      ui.bar.value = 0;
      ui.text.textContent = TEXT.uploading.replace("%s", "0");
    }
    xhr.upload.addEventListener("progress", function (e) {
      if (!ui || !e.lengthComputable) { return; }
      var percent = Math.floor(e.loaded * 100 / e.total);
      ui.bar.value = percent;
      ui.text.textContent = percent >= 100 ? TEXT.processing
        : TEXT.uploading.replace("%s", String(percent));
    });
    xhr.addEventListener("load", function () { showPage(xhr); });
    function failed() {
      form.removeAttribute("data-sending");
      setBusy(form, false);
      if (ui) { ui.bar.value = 0; ui.text.textContent = TEXT.failed; }
    }
    xhr.addEventListener("error", failed);
    xhr.addEventListener("abort", failed);
    form.setAttribute("data-sending", "1");
    setBusy(form, true);
    xhr.send(data);
  });
}());
