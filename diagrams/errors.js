// Loaded first by every diagram page: keeps every error the page meets (a script that
// throws, a file that fails to load, console.error) where a test can read it.
window.__errors = [];
window.addEventListener(
  "error",
  (event) => {
    const what = event.target && event.target !== window ? event.target.src || event.target.href : "";
    window.__errors.push(what ? "failed to load " + what : String(event.message));
  },
  true,
);
window.addEventListener("unhandledrejection", (event) => window.__errors.push(String(event.reason)));
(() => {
  const original = console.error.bind(console);
  console.error = (...args) => {
    window.__errors.push(args.map(String).join(" "));
    original(...args);
  };
})();
