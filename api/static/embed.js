// studyhall's embeddable widget. On any page:
//
//   <script src="https://HOST/embed.js" data-course="genai-basics"></script>
//
// adds a floating button that opens (and closes) the course assistant in a panel: an
// iframe of https://HOST/?course=genai-basics&embed=1. The chat page itself stays on
// studyhall's origin, which decides (by its Content-Security-Policy) which sites may frame
// it. No dependencies; a classic script, since document.currentScript is needed.
(() => {
  const script = document.currentScript;
  if (!script || !script.src) return;
  const origin = new URL(script.src, window.location.href).origin;
  const course = script.dataset.course || "";
  const label = script.dataset.label || "Course assistant";

  function chatUrl() {
    const url = new URL("/", origin);
    if (course) url.searchParams.set("course", course);
    url.searchParams.set("embed", "1");
    return url.href;
  }

  // Styles go through the CSSOM (element.style), which a host page's CSP allows, and the
  // widget lives in a shadow root, so the host page's CSS does not reach it.
  function styled(tag, styles) {
    const node = document.createElement(tag);
    Object.assign(node.style, styles);
    return node;
  }

  const host = styled("div", { position: "fixed", zIndex: "2147483000", right: "0", bottom: "0" });
  const root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;

  const button = styled("button", {
    position: "fixed", right: "20px", bottom: "20px", width: "56px", height: "56px",
    borderRadius: "50%", border: "none", background: "#1f5fbf", color: "#fff",
    font: "600 24px/1 system-ui, sans-serif", cursor: "pointer",
    boxShadow: "0 4px 14px rgba(0, 0, 0, 0.3)", outlineOffset: "3px",
  });
  button.type = "button";
  button.textContent = "?";
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "studyhall-panel");
  button.addEventListener("focus", () => { button.style.outline = "3px solid #ffbf47"; });
  button.addEventListener("blur", () => { button.style.outline = "none"; });

  let frame = null; // created on the first open, so a closed widget loads nothing

  function setLabel(open) {
    button.setAttribute("aria-label", `${open ? "Close" : "Open"} ${label.toLowerCase()}`);
    button.title = button.getAttribute("aria-label");
    button.textContent = open ? "×" : "?";
    button.setAttribute("aria-expanded", String(open));
  }

  function makeFrame() {
    const iframe = styled("iframe", {
      position: "fixed", right: "20px", bottom: "88px",
      width: "min(420px, calc(100vw - 40px))", height: "min(640px, calc(100vh - 110px))",
      border: "1px solid #d5dae1", borderRadius: "12px", background: "#fff",
      boxShadow: "0 8px 30px rgba(0, 0, 0, 0.25)",
    });
    iframe.id = "studyhall-panel";
    iframe.title = label;
    iframe.src = chatUrl();
    root.append(iframe);
    return iframe;
  }

  function open() {
    frame = frame || makeFrame();
    frame.hidden = false;
    frame.style.display = "block";
    setLabel(true);
    frame.focus();
  }

  function close() {
    if (!frame) return;
    frame.hidden = true;
    frame.style.display = "none";
    setLabel(false);
    button.focus();
  }

  const isOpen = () => frame !== null && !frame.hidden;

  button.addEventListener("click", () => (isOpen() ? close() : open()));
  // Escape closes the panel: on the host page directly, or from inside the chat page,
  // which asks by postMessage (only messages from our own frame count).
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isOpen()) close();
  });
  window.addEventListener("message", (event) => {
    if (event.origin === origin && frame && event.source === frame.contentWindow
        && event.data && event.data.studyhall === "close" && isOpen()) close();
  });

  setLabel(false);
  root.append(button);
  const attach = () => document.body.append(host);
  if (document.body) attach();
  else document.addEventListener("DOMContentLoaded", attach);
})();
