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

// The phone menu: the button opens and folds the navigation (without JavaScript it is a link
// to #site-nav, which the CSS opens with :target).
document.addEventListener("DOMContentLoaded", function () {
  var button = document.querySelector("[data-menu-button]");
  var nav = document.getElementById("site-nav");
  if (button && nav) {
    button.addEventListener("click", function (event) {
      event.preventDefault();  // no jump to #site-nav: open it in place
      var open = nav.classList.toggle("open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // The phone's buy bar hides while the page's own price box is on screen: one button at a time.
  var bar = document.querySelector("[data-buy-bar]");
  var box = bar && document.getElementById(bar.getAttribute("data-buy-bar"));
  if (bar && box && "IntersectionObserver" in window) {
    new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) { bar.classList.toggle("is-hidden", entry.isIntersecting); });
    }).observe(box);
  }
});
