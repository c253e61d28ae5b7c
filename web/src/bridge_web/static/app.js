// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", function () {
  // Focus the first error summary so screen readers announce it.
  var summary = document.querySelector(".problem-summary[tabindex]");
  if (summary) { summary.focus(); }
  // A page showing a running job has an element with data-refresh="seconds": reload until it is done.
  var holder = document.querySelector("[data-refresh]");
  var refresh = holder && parseInt(holder.getAttribute("data-refresh") || "", 10);
  if (refresh > 0) { window.setTimeout(function () { window.location.reload(); }, refresh * 1000); }
});
