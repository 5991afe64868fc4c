// Times on careplane's pages are shown in the browser's time zone: this tells the server which
// one (the cp_tz cookie), from the next page on. Without it, times stay in UTC and say so.
(function () {
  try {
    var zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
    var cookie = "cp_tz=" + encodeURIComponent(zone || "");
    if (zone && ("; " + document.cookie + ";").indexOf("; " + cookie + ";") === -1) {
      document.cookie = cookie + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* keep UTC */ }
})();
