// Small behaviours of every page, kept out of the HTML: the Content-Security-Policy allows
// scripts from this site only, never inline code or onclick attributes.
(function () {
  "use strict";
  // On phones tables collapse into one block per row (app.css); each cell then shows its
  // column's name from data-label, taken here from the table's header row.
  function labelCells(root) {
    root.querySelectorAll(".table-wrap > table").forEach(function (table) {
      const heads = Array.from(table.querySelectorAll("thead tr:last-child th")).map(function (th) {
        if (th.dataset.label !== undefined) return th.dataset.label;
        const copy = th.cloneNode(true);
        copy.querySelectorAll(".sm-only, .sr-only").forEach(function (el) { el.remove(); });
        return copy.textContent.trim();
      });
      table.querySelectorAll("tbody tr, tfoot tr").forEach(function (row) {
        let column = 0;
        Array.from(row.children).forEach(function (cell) {
          const label = heads[column];
          if (label && !cell.hasAttribute("data-label") && !cell.hasAttribute("colspan")) {
            cell.setAttribute("data-label", label);
          }
          column += cell.colSpan || 1;
        });
      });
    });
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    const target = event.target instanceof Element ? event.target : document;
    labelCells(target.closest(".table-wrap") ? target.closest(".table-wrap").parentElement : target);
  });
  function ready() {
    labelCells(document);
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
  // The customer switcher is a disclosure (<details>): Escape closes it and puts focus back on
  // its summary, as on any disclosure; clicking elsewhere closes it too.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.switcher[open]").forEach(function (details) {
      const inside = details.contains(document.activeElement);
      details.open = false;
      if (inside) details.querySelector("summary").focus();
    });
  });
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.switcher[open]").forEach(function (details) {
      if (!details.contains(event.target)) details.open = false;
    });
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
