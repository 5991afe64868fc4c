// Small behaviours pages ask for with data- attributes (the Content-Security-Policy allows no
// inline script or on...= handler):
//   data-select-on-focus   select the field's whole value when it gets focus (a new API token)
//   data-browser-zone      fill an empty field with the browser's IANA time zone (audit log filter)
(function () {
  function ready() {
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
