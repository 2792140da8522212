// Apply the saved theme before the first paint so dark mode never flashes light. A file, not an
// inline script: the UI server's Content-Security-Policy allows scripts from this origin only.
(function () {
  var saved = localStorage.getItem("theme");
  var dark = saved ? saved === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.classList.toggle("dark", dark);
})();
