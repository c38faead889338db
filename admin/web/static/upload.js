// Upload forms (form[data-upload]) with a progress bar. Without this script
// the same form posts as an ordinary page and works the same; with it, the
// file is sent in the background so the page can show how far it has got.
(function () {
  "use strict";

  // announceEvery is how many percent pass between two progress
  // announcements, so a screen reader is not interrupted on every step.
  var announceEvery = 25;

  function humanBytes(n) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return i === 0 ? n + " B" : n.toFixed(n < 10 ? 1 : 0) + " " + units[i];
  }

  // fieldError shows a message beside the input called name, as the
  // server-rendered form does after a refusal.
  function fieldError(form, name, message) {
    var input = form.elements[name] || form.querySelector("input[type=file]");
    if (!input) {
      return;
    }
    var box = input.closest(".field");
    var id = input.id + "-error";
    var p = document.getElementById(id);
    if (!p) {
      p = document.createElement("p");
      p.className = "field-error";
      p.id = id;
      box.insertBefore(p, input);
    }
    p.textContent = message;
    box.classList.add("invalid");
    input.setAttribute("aria-invalid", "true");
    var described = (input.getAttribute("aria-describedby") || "").split(" ");
    if (described.indexOf(id) < 0) {
      described.push(id);
      input.setAttribute("aria-describedby", described.join(" ").trim());
    }
    input.focus();
  }

  // clearErrors removes the messages of an earlier attempt, and the
  // summary of a refusal the page was served with.
  function clearErrors(form) {
    var summary = form.parentNode.querySelector(".problems");
    if (summary) {
      summary.remove();
    }
    var errors = form.querySelectorAll(".field-error");
    for (var i = 0; i < errors.length; i++) {
      var box = errors[i].closest(".field");
      var input = box && box.querySelector("input, select");
      if (input) {
        input.removeAttribute("aria-invalid");
        var ids = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
          return id !== errors[i].id;
        });
        if (ids.length) {
          input.setAttribute("aria-describedby", ids.join(" "));
        } else {
          input.removeAttribute("aria-describedby");
        }
      }
      if (box) {
        box.classList.remove("invalid");
      }
      errors[i].remove();
    }
  }

  // parse reads the console's JSON answer: a location after an upload, or
  // a field and a message after a refusal. Anything else is read as {}.
  function parse(text) {
    try {
      var answer = JSON.parse(text);
      return answer && typeof answer === "object" ? answer : {};
    } catch (e) {
      return {};
    }
  }

  // refusal reads why an upload failed from the error page the console
  // answered (a refused token or role, an app since deleted).
  function refusal(xhr) {
    var message = "The upload failed (" + (xhr.status || "no answer") + "). Reload the page and try again.";
    if (xhr.responseText) {
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var alert = doc.querySelector("main .alert");
      if (alert && alert.textContent.trim()) {
        message = alert.textContent.trim();
      }
    }
    return { field: "file", message: message };
  }

  function enhance(form) {
    var file = form.querySelector("input[type=file]");
    var token = form.elements.csrf_token;
    var progressBox = form.querySelector("[data-upload-progress]");
    var progress = form.querySelector("progress");
    var pct = form.querySelector("[data-upload-pct]");
    var status = form.querySelector("[data-upload-status]");
    var submit = form.querySelector("[data-upload-submit]");
    var cancel = form.querySelector("[data-upload-cancel]");
    if (!file || !token || !progressBox || !progress || !pct || !status || !submit || !cancel) {
      return; // not the markup this script knows: leave the form as it is
    }
    var xhr = null;

    function show(percent) {
      progress.value = percent;
      progress.textContent = percent + " %";
      pct.textContent = percent + " %";
    }

    function finish() {
      xhr = null;
      submit.disabled = false;
      cancel.hidden = true;
    }

    cancel.addEventListener("click", function () {
      if (xhr) {
        xhr.abort();
      }
    });

    form.addEventListener("submit", function (event) {
      // No file chosen: the ordinary form asks for one.
      if (!file.files || file.files.length === 0 || xhr) {
        return;
      }
      event.preventDefault();
      clearErrors(form);
      var chosen = file.files[0];
      var announced = 0;
      xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-CSRF-Token", token.value);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) {
          return;
        }
        var percent = Math.floor((e.loaded / e.total) * 100);
        show(percent);
        if (percent >= announced + announceEvery && percent < 100) {
          announced = percent - (percent % announceEvery);
          status.textContent = "Uploaded " + announced + " %.";
        }
      });
      xhr.upload.addEventListener("load", function () {
        show(100);
        status.textContent = "Sent; the portal is checking and storing the file.";
      });
      xhr.addEventListener("load", function () {
        var sent = xhr;
        finish();
        var answer = parse(sent.responseText);
        if (sent.status === 200 && !answer.message) {
          status.textContent = "Uploaded. Opening the app's page.";
          window.location.assign(answer.location || sent.responseURL || window.location.href);
          return;
        }
        var why = answer.message ? answer : refusal(sent);
        progressBox.hidden = true;
        status.textContent = "Not uploaded: " + why.message;
        fieldError(form, why.field || "file", why.message);
      });
      xhr.addEventListener("error", function () {
        finish();
        progressBox.hidden = true;
        status.textContent = "The upload stopped: the connection to the portal was lost. Try again.";
      });
      xhr.addEventListener("abort", function () {
        finish();
        progressBox.hidden = true;
        status.textContent = "Upload stopped; nothing was changed.";
        file.focus();
      });
      show(0);
      progressBox.hidden = false;
      submit.disabled = true;
      cancel.hidden = false;
      status.textContent = "Uploading " + chosen.name + " (" + humanBytes(chosen.size) + ").";
      xhr.send(new FormData(form));
    });
  }

  var forms = document.querySelectorAll("form[data-upload]");
  for (var i = 0; i < forms.length; i++) {
    enhance(forms[i]);
  }
})();
