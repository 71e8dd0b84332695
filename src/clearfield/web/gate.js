// Before anything loads: no session, no dashboard. The session cookie is HTTP-only;
// its CSRF twin is readable and lives as long, so its absence means "not signed in".
// (An expired session still has both: /api/me answers 401 and app.js redirects.)
// A file of its own, loaded as a classic script in <head>: the Content-Security-Policy
// allows no inline script.
if (!/(^|;\s*)clearfield_csrf=/.test(document.cookie)) location.replace("/login");
