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
