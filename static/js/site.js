// Tell the server the visitor's time zone, so pages show times in it before they sign in,
// and pre-fill the hidden time-zone field of the sign-up form.
(function () {
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) { return; }
  document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
  document.addEventListener("DOMContentLoaded", function () {
    var field = document.querySelector("input[name=time_zone][type=hidden]");
    if (field && !field.value) { field.value = zone; }
  });
})();
