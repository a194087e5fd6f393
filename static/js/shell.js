// Small behaviours of every page, kept out of the HTML: the Content-Security-Policy allows
// scripts from this site only, never inline code or onclick attributes.
(function () {
  "use strict";
  function ready() {
    // Keep the current tab in view on narrow screens, where the tab bar scrolls sideways.
    const current = document.querySelector(".tabs [aria-current=page]");
    if (current) current.scrollIntoView({ block: "nearest", inline: "center" });
  }
  document.addEventListener("click", function (event) {
    const target = event.target;
    if (!(target instanceof Element)) return;
    if (target.matches("[data-select-on-click]")) target.select();
    const copy = target.closest("[data-copy-from]");
    if (copy) {
      const source = document.getElementById(copy.dataset.copyFrom);
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.value).then(function () { copy.textContent = "Copied"; });
      }
    }
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
