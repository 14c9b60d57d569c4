// The first page of an LTI launch: keep the session the launch handed over in this tab's
// sessionStorage (the chat and instructor pages send it as the X-LTI-Session header), then
// replace this page with the course's page. The session never goes into an address, so it
// stays out of the browser history and the server's access log.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";

const session = meta("studyhall-lti");
const landing = meta("studyhall-landing");
if (session) sessionStorage.setItem("studyhall-lti", session);
if (landing) window.location.replace(new URL(landing, window.location.href));
