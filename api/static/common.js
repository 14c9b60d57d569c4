// Helpers the chat page and the instructor page share. Plain ES module, no build step.

/** Create an element; `text` is set with textContent, never parsed as HTML. */
export function el(tag, { text, className, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** The `detail` of an error response: a string, or FastAPI's list of {loc, msg}. */
export async function readDetail(response) {
  let body;
  try {
    body = await response.json();
  } catch {
    return "";
  }
  const detail = body?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((item) => item?.msg ?? String(item)).join("; ");
  return "";
}

const SESSION_KEY = "studyhall-lti"; // written by launch.js, for this tab only
const CLIENT_KEY = "studyhall-client";
let memoryClientId = "";

/** The LTI session this tab was opened with, or "" (sessionStorage: never in an address). */
export function ltiSession() {
  try {
    return sessionStorage.getItem(SESSION_KEY) ?? "";
  } catch {
    return ""; // storage refused (a sandboxed frame): no session
  }
}

/** This browser's random id: the anonymous owner of the conversations it starts. */
function clientId() {
  try {
    let id = localStorage.getItem(CLIENT_KEY);
    if (!id) {
      id = randomId();
      localStorage.setItem(CLIENT_KEY, id);
    }
    return id;
  } catch {
    memoryClientId ||= randomId(); // storage refused: an id for this page's life
    return memoryClientId;
  }
}

function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Headers every API call carries: the tab's LTI session, if any, and the client id. */
export function apiHeaders(extra = {}) {
  const headers = { ...extra, "X-Studyhall-Client": clientId() };
  const session = ltiSession();
  if (session) headers["X-LTI-Session"] = session;
  return headers;
}
