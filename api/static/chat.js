// studyhall's chat page: pick a course, ask, read the answer as it streams, open the
// cited passages, rate answers. Plain ES module, no build step, nothing from the network
// but this service's own API.
//
// Everything the model or the course says is inserted with textContent (through el()):
// this file never parses server text as HTML.
//
// Query parameters: ?course=ID preselects a course; &embed=1 hides the picker (the page
// inside the embeddable widget's iframe, or an LMS's). Every API call carries the tab's LTI
// session, if an LMS launch opened it (common.js).

import { apiHeaders, el, readDetail } from "./common.js";

const params = new URLSearchParams(window.location.search);
const EMBEDDED = params.get("embed") === "1";
const WANTED_COURSE = params.get("course");

// The API lives next to the page: this file is <root>/static/chat.js.
const ROOT = new URL("../", import.meta.url);
const api = (path) => new URL(path, ROOT);

const $ = (id) => document.getElementById(id);
const ui = {
  picker: $("picker"),
  course: $("course"),
  newConversation: $("new-conversation"),
  status: $("status"),
  messages: $("messages"),
  empty: $("empty"),
  form: $("composer"),
  question: $("question"),
  send: $("send"),
  dialog: $("source-dialog"),
  dialogTitle: $("source-title"),
  dialogClose: $("source-close"),
  sourcePath: $("source-path"),
  sourceAnchor: $("source-anchor"),
  sourceLocation: $("source-location"),
  sourceText: $("source-text"),
};

const state = {
  course: "",
  sessionId: null, // kept for the page's life; "New conversation" forgets it
  request: null, // the AbortController of the answer being streamed
  opener: null, // the element that opened the source dialog, to return focus to
};

// --- small DOM helpers --------------------------------------------------------------

/** A stroked 24×24 icon (paths from Feather icons, MIT licence). */
function icon(d) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  for (const [name, value] of Object.entries({
    viewBox: "0 0 24 24", width: "18", height: "18", fill: "none", stroke: "currentColor",
    "stroke-width": "2", "stroke-linecap": "round", "stroke-linejoin": "round",
    "aria-hidden": "true", focusable: "false",
  })) svg.setAttribute(name, value);
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d);
  svg.append(path);
  return svg;
}

const THUMB_UP = "M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3z"
  + "M7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3";
const THUMB_DOWN = "M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3z"
  + "m7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17";

function announce(text) {
  ui.status.textContent = text;
}

/** Keep the newest message in view, unless the reader has scrolled up to read. */
function scrollToEnd(force = false) {
  const box = ui.messages;
  const nearEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  if (force || nearEnd) box.scrollTop = box.scrollHeight;
}

// --- courses ------------------------------------------------------------------------

async function loadCourses() {
  let courses;
  try {
    const response = await fetch(api("v1/courses"),
      { headers: apiHeaders({ accept: "application/json" }) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    courses = (await response.json()).courses ?? [];
  } catch (error) {
    ui.course.replaceChildren(el("option", { text: "Courses unavailable", attrs: { value: "" } }));
    announce(`Could not load the courses (${error.message}). Reload the page to try again.`);
    return;
  }
  if (courses.length === 0) {
    ui.course.replaceChildren(el("option", { text: "No courses yet", attrs: { value: "" } }));
    announce("No course has been ingested yet.");
    return;
  }
  ui.course.replaceChildren(...courses.map((course) =>
    el("option", { text: course.title || course.id, attrs: { value: course.id } })));
  ui.course.disabled = false;

  const known = courses.some((course) => course.id === WANTED_COURSE);
  if (known) ui.course.value = WANTED_COURSE;
  // Inside the widget the course is fixed; keep the picker if the link named no valid one.
  ui.picker.hidden = EMBEDDED && known;
  if (WANTED_COURSE && !known) announce(`Unknown course "${WANTED_COURSE}": pick one above.`);
  state.course = ui.course.value;
  updateSend();
}

function changeCourse() {
  state.course = ui.course.value;
  const title = ui.course.selectedOptions[0]?.textContent ?? "the course";
  // Focus stays on the picker: arrow keys on a closed <select> fire "change" as they go.
  startNewConversation(`Switched to ${title}. A new conversation has started.`, false);
}

// --- conversation -------------------------------------------------------------------

/** Send works once a course is chosen, and not while an answer is streaming. */
function updateSend() {
  ui.send.disabled = !state.course || state.request !== null;
}

/** While streaming, screen readers wait for the whole answer (aria-busy on the log). */
function setStreaming(streaming) {
  ui.messages.setAttribute("aria-busy", String(streaming));
  updateSend();
}

function startNewConversation(message = "New conversation started.", focus = true) {
  state.request?.abort();
  state.sessionId = null;
  ui.messages.replaceChildren(ui.empty);
  ui.empty.hidden = false;
  announce(message);
  if (focus) ui.question.focus();
}

/** A message bubble in the log; returns the element that holds its body. */
function addMessage(role) {
  ui.empty.hidden = true;
  const who = role === "user" ? "You" : "Assistant";
  const body = el("div", { className: "msg-body" });
  const message = el("div", { className: `msg msg-${role}` }, [
    el("span", { className: "visually-hidden", text: `${who}:` }),
    body,
  ]);
  ui.messages.append(message);
  scrollToEnd(true);
  return { message, body };
}

function addQuestion(text) {
  const { body } = addMessage("user");
  body.append(el("p", { text }));
}

async function submitQuestion() {
  const question = ui.question.value.trim();
  if (!question || !state.course || state.request) return;
  ui.question.value = "";
  announce("");
  addQuestion(question);
  await ask(question);
}

/** Ask the service and render the streamed answer; errors are shown in the log. */
async function ask(question) {
  const view = addMessage("assistant");
  view.body.append(el("p", { className: "thinking", text: "Looking through the course…" }));
  const request = new AbortController();
  state.request = request;
  setStreaming(true);
  try {
    const response = await fetch(api("v1/ask"), {
      method: "POST",
      headers: apiHeaders({ "content-type": "application/json", accept: "text/event-stream" }),
      body: JSON.stringify({
        question, course: state.course, session_id: state.sessionId, stream: true,
      }),
      signal: request.signal,
    });
    if (!response.ok) {
      showError(view, await describeFailure(response));
      giveBack(question);
      return;
    }
    await readAnswer(response, view);
  } catch (error) {
    if (error.name === "AbortError") {
      showNote(view, "Stopped.");
    } else {
      showError(view, "Could not reach the course assistant. Check your connection and "
        + "try again.");
      giveBack(question);
    }
  } finally {
    if (state.request === request) state.request = null;
    setStreaming(false);
  }
}

/** Consume the event stream: the sources being read, tokens as they come, then the whole
 * answer (which replaces both) or an error. */
async function readAnswer(response, view) {
  let streamed = null; // the text node tokens are appended to
  let reading = null; // the sources the model is reading, shown until the answer is whole
  for await (const event of sseEvents(response.body)) {
    if (event.name === "sources") {
      reading = readingList(event.data.sources ?? []);
      view.body.replaceChildren(
        el("p", { className: "thinking", text: "Reading the course…" }), reading);
      scrollToEnd();
    } else if (event.name === "token") {
      if (streamed === null) {
        streamed = document.createTextNode("");
        const parts = [el("p", { className: "streaming" }, [streamed])];
        if (reading) parts.push(reading);
        view.body.replaceChildren(...parts);
      }
      streamed.appendData(event.data.text ?? "");
      scrollToEnd();
    } else if (event.name === "done") {
      state.sessionId = event.data.session_id ?? state.sessionId;
      renderAnswer(view, event.data);
      return;
    } else if (event.name === "error") {
      showError(view, `The answer failed: ${event.data.detail ?? "unknown error"}`);
      return;
    }
  }
  showError(view, "The answer was cut off before it finished. Please ask again.");
}

/** Put an unsent question back in the box, so it can be sent again. */
function giveBack(question) {
  if (!ui.question.value) ui.question.value = question;
}

/** A sentence for a refused request: busy (503), too long (413), invalid (422), … */
async function describeFailure(response) {
  const detail = await readDetail(response);
  const { status } = response;
  if (status === 503) {
    const wait = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
    if (Number.isFinite(wait) && wait > 0) {
      return `The assistant is busy answering other questions. Please try again in ${wait} s.`;
    }
    return `The assistant is unavailable right now${detail ? `: ${detail}` : ""}. `
      + "Please try again later.";
  }
  if (status === 413) return `Your question is too long: ${detail || "please shorten it"}.`;
  if (status === 422) return `That question could not be asked: ${detail || "invalid input"}.`;
  if (status === 404) return detail || "Not found.";
  return `Something went wrong (HTTP ${status})${detail ? `: ${detail}` : ""}.`;
}

// --- server-sent events over fetch (EventSource cannot POST) ---------------------------

/** Yield {name, data} for each event of a text/event-stream body. */
async function* sseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      // Normalise CRLF on the whole buffer, so a pair split across chunks still joins.
      buffer = (buffer + value).replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = parseEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event) yield event;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** One event block: `event:` names it, `data:` lines are its JSON payload. */
function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue; // blank or comment
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") name = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? { name, data: JSON.parse(data.join("\n")) } : null;
}

// --- rendering an answer ------------------------------------------------------------

/** Replace the streamed text with the final answer (the server may have changed it). */
function renderAnswer(view, done) {
  const citations = new Map((done.citations ?? []).map((c) => [c.n, c]));
  const parts = [];
  if (done.refused) {
    view.message.classList.add("msg-refused");
    parts.push(el("p", { className: "badge", text: "Not covered by the course" }));
  }
  parts.push(...paragraphs(done.answer ?? "", citations));
  if (done.refused && done.suggestions?.length) parts.push(suggestionList(done.suggestions));
  if (done.demo) parts.push(demoResult(done.demo));
  if (citations.size) parts.push(sourceList([...citations.values()]));
  if (done.message_id !== null && done.message_id !== undefined) {
    parts.push(feedbackControls(done.message_id));
  }
  view.body.replaceChildren(...parts);
  scrollToEnd();
}

/** The answer as paragraphs, with each [n] that names a citation turned into a button. */
// The model writes a little Markdown: paragraphs, "- " and "1. " lists, **bold** and
// `code`. That much is rendered, node by node with textContent (never as HTML); anything
// else stays literal text.
const LIST_ITEM = /^\s*(?:[-*\u2022]|(\d+)[.)])\s+(.*)$/;
const INLINE = /\*\*([^*\n]+)\*\*|`([^`\n]+)`|\[(\d+)\]/g;

function paragraphs(text, citations) {
  const blocks = [];
  let lines = [];
  let list = null;
  const endParagraph = () => {
    if (lines.length) blocks.push(el("p", {}, inline(lines.join(" "), citations)));
    lines = [];
  };
  for (const line of text.split("\n")) {
    const item = line.match(LIST_ITEM);
    if (item) {
      endParagraph();
      const tag = item[1] === undefined ? "ul" : "ol";
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = el(tag);
        if (tag === "ol" && item[1] !== "1") list.setAttribute("start", item[1]);
        blocks.push(list);
      }
      list.append(el("li", {}, inline(item[2], citations)));
    } else if (line.trim()) {
      list = null;
      lines.push(line.trim());
    } else {
      endParagraph();
      list = null;
    }
  }
  endParagraph();
  return blocks;
}

/** Text with **bold**, `code` and [n] citation buttons, as nodes. */
function inline(text, citations) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    const [whole, bold, code, n] = match;
    let node;
    if (bold !== undefined) node = el("strong", { text: bold });
    else if (code !== undefined) node = el("code", { text: code });
    else {
      const citation = citations.get(Number(n));
      if (!citation) continue; // not a source of this answer: leave the text alone
      node = citeButton(citation);
    }
    nodes.push(text.slice(last, match.index), node);
    last = match.index + whole.length;
  }
  nodes.push(text.slice(last));
  return nodes.filter((node) => node !== "");
}

function headingPath(citation) {
  return (citation.heading_path ?? []).join(" › ") || citation.source || "";
}

function citeButton(citation) {
  const button = el("button", {
    className: "cite",
    text: `[${citation.n}]`,
    attrs: {
      type: "button",
      "aria-haspopup": "dialog",
      "aria-label": `Source ${citation.n}: ${headingPath(citation)}`,
    },
  });
  button.addEventListener("click", () => openSource(citation, button));
  return button;
}

/** "Sources" under an answer: the same passages, listed, each opening the dialog. */
function sourceList(citations) {
  const items = citations.map((citation) => {
    const button = el("button", {
      className: "source-link",
      text: `[${citation.n}] ${headingPath(citation)}`,
      attrs: { type: "button", "aria-haspopup": "dialog" },
    });
    button.addEventListener("click", () => openSource(citation, button));
    return el("li", {}, [button, el("span", { className: "where", text: citation.location })]);
  });
  return el("section", { className: "sources", attrs: { "aria-label": "Sources" } }, [
    el("h3", { text: "Sources" }),
    el("ul", {}, items),
  ]);
}

/** The sources the model is reading, by number and place (their text comes with the
 * answer's citations). */
function readingList(sources) {
  const items = sources.map((source) => el("li", {}, [
    el("span", { className: "title", text: `[${source.n}] ${headingPath(source)}` }),
    el("span", { className: "where", text: source.label || source.location }),
  ]));
  return el("section", { className: "reading", attrs: { "aria-label": "Reading" } },
    [el("h3", { text: "Reading" }), el("ul", {}, items)]);
}

function suggestionList(suggestions) {
  const items = suggestions.map((s) => el("li", {}, [
    el("span", { className: "title", text: s.title || s.source }),
    el("span", { className: "where", text: s.location || s.source }),
  ]));
  return el("section", { className: "suggestions", attrs: { "aria-label": "Closest lessons" } },
    [el("h3", { text: "Closest lessons" }), el("ul", {}, items)]);
}

/** A number as the server's demo text prints it: integers whole, others to 3 digits. */
function formatMetric(value) {
  if (typeof value !== "number") return String(value);
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(3)));
}

/** Only same-origin figure URLs are shown (the CSP's img-src would block others). */
function sameOriginUrl(url) {
  try {
    const resolved = new URL(url, ROOT);
    return resolved.origin === window.location.origin ? resolved.href : null;
  } catch {
    return null;
  }
}

function demoResult(demo) {
  const metrics = Object.entries(demo.metrics ?? {}).flatMap(([name, value]) => [
    el("dt", { text: name.replaceAll("_", " ") }),
    el("dd", { text: formatMetric(value) }),
  ]);
  const figures = (demo.figures ?? []).flatMap((figure) => {
    const src = sameOriginUrl(figure.url);
    if (!src) return [];
    const title = figure.title || figure.name || "Figure";
    return [el("figure", {}, [
      el("img", { attrs: { src, alt: title, loading: "lazy" } }),
      el("figcaption", { text: title }),
    ])];
  });
  const parts = [el("h3", { text: `Demo: ${demo.tool}` })];
  if (metrics.length) parts.push(el("dl", { className: "metrics" }, metrics));
  if (figures.length) parts.push(el("div", { className: "figures" }, figures));
  if (demo.lesson) parts.push(el("p", { className: "where", text: `Lesson: ${demo.lesson}` }));
  return el("section", { className: "demo", attrs: { "aria-label": `Demo: ${demo.tool}` } },
    parts);
}

function showError(view, text) {
  view.message.classList.add("msg-error");
  view.body.replaceChildren(el("p", { text }));
  scrollToEnd();
}

function showNote(view, text) {
  view.body.append(el("p", { className: "where", text }));
}

// --- feedback -----------------------------------------------------------------------

function voteButton(label, path) {
  const attrs = { type: "button", "aria-label": label, "aria-pressed": "false" };
  return el("button", { className: "vote", attrs }, [icon(path)]);
}

function feedbackControls(messageId) {
  const note = el("span", { className: "feedback-note", attrs: { role: "status" } });
  const up = voteButton("Helpful answer", THUMB_UP);
  const down = voteButton("Unhelpful answer", THUMB_DOWN);
  up.addEventListener("click", () => vote(messageId, 1, up, [up, down], note));
  down.addEventListener("click", () => vote(messageId, -1, down, [up, down], note));
  const attrs = { role: "group", "aria-label": "Rate this answer" };
  return el("div", { className: "feedback", attrs }, [up, down, note]);
}

/** Post a rating once: both buttons stay disabled after a vote that was recorded. */
async function vote(messageId, rating, chosen, buttons, note) {
  for (const button of buttons) button.disabled = true;
  try {
    const response = await fetch(api("v1/feedback"), {
      method: "POST",
      headers: apiHeaders({ "content-type": "application/json" }),
      body: JSON.stringify({ message_id: messageId, rating }),
    });
    if (!response.ok) throw new Error(await readDetail(response) || `HTTP ${response.status}`);
    chosen.setAttribute("aria-pressed", "true");
    note.textContent = "Thanks for the feedback.";
  } catch (error) {
    for (const button of buttons) button.disabled = false;
    note.textContent = `Could not send the feedback (${error.message}).`;
  }
}

// --- the source dialog --------------------------------------------------------------

function openSource(citation, opener) {
  state.opener = opener;
  ui.dialogTitle.textContent = `Source [${citation.n}]`;
  ui.sourcePath.textContent = headingPath(citation);
  ui.sourceAnchor.textContent = citation.anchor?.label || citation.anchor?.ref || "—";
  ui.sourceLocation.textContent = citation.location || citation.source || "";
  ui.sourceText.textContent = citation.text ?? "";
  ui.dialog.showModal(); // modal: Escape closes it, the page behind is inert
  ui.dialogClose.focus();
}

function onSourceClosed() {
  state.opener?.focus(); // back to the [n] button that opened it
  state.opener = null;
}

// --- wiring -------------------------------------------------------------------------

function onKeyDown(event) {
  // Enter sends; Shift+Enter is a new line; nothing while an input method is composing.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submitQuestion();
  }
}

function wire() {
  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitQuestion();
  });
  ui.question.addEventListener("keydown", onKeyDown);
  ui.course.addEventListener("change", changeCourse);
  ui.newConversation.addEventListener("click", () => startNewConversation());
  ui.dialogClose.addEventListener("click", () => ui.dialog.close());
  ui.dialog.addEventListener("close", onSourceClosed);
  // A click on the backdrop closes it too (the dialog's content fills its box, so a
  // click whose target is the dialog itself landed outside it).
  ui.dialog.addEventListener("click", (event) => {
    if (event.target === ui.dialog) ui.dialog.close();
  });
  if (EMBEDDED) document.body.classList.add("embedded");
  if (EMBEDDED && window.parent !== window) {
    // Escape outside the dialog asks the widget on the host page to close its panel.
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !ui.dialog.open) {
        window.parent.postMessage({ studyhall: "close" }, "*");
      }
    });
  }
}

wire();
updateSend();
loadCourses();
