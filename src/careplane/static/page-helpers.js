// Small behaviours pages ask for with data- attributes (the Content-Security-Policy allows no
// inline script or on...= handler):
//   data-select-on-focus   select the field's whole value when it gets focus (a new API token)
//   data-browser-zone      fill an empty field with the browser's IANA time zone (audit log filter)
//   #idle-warning          before the idle timeout logs the person out, warn them and let them stay
//                          (WCAG 2.2.1): "Stay logged in" restarts the server's idle clock
(function () {
  var WARN_BEFORE_SECONDS = 120;

  function idleWarning() {
    var box = document.getElementById("idle-warning");
    if (!box) { return; }
    var idle = parseInt(box.getAttribute("data-idle-seconds"), 10);
    var warnAfter = Math.max(idle - WARN_BEFORE_SECONDS, Math.floor(idle / 2));
    var countdown = box.querySelector("[data-idle-countdown]");
    var stay = box.querySelector("[data-idle-stay]");
    var warnTimer = null, tick = null, deadline = 0, before = null;

    function show() {
      deadline = Date.now() + (idle - warnAfter) * 1000;
      before = document.activeElement;
      box.hidden = false;
      update();
      tick = setInterval(update, 1000);
      stay.focus();
    }
    function update() {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      countdown.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      if (left === 0) {
        clearInterval(tick);
        window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
      }
    }
    function restart() {
      clearTimeout(warnTimer);
      clearInterval(tick);
      box.hidden = true;
      warnTimer = setTimeout(show, warnAfter * 1000);
    }
    stay.addEventListener("click", function () {
      var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
      fetch("/session/keep-alive", { method: "POST", headers: { "X-CSRF-Token": token }, credentials: "same-origin" })
        .then(function (answer) {
          if (!answer.ok) { window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname)); return; }
          restart();
          if (before && before.focus) { before.focus(); }
        });
    });
    document.body.addEventListener("htmx:afterRequest", restart);  // any request to the server counts
    restart();
  }

  function ready() {
    idleWarning();
    document.querySelectorAll("[data-select-on-focus]").forEach(function (field) {
      field.addEventListener("focus", function () { field.select(); });
    });
    document.querySelectorAll("[data-browser-zone]").forEach(function (field) {
      try {
        var zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
        if (!field.value && zone) { field.value = zone; }
      } catch (e) { /* leave it empty: UTC */ }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); } else { ready(); }
})();
