// studyhall's instructor page: add files to the course and follow their ingestion, run an
// eval and open its report. Plain ES module, no build step, nothing from the network but
// this service's own API.
//
// Query parameter: ?course=ID names the course. The session an instructor's LTI launch
// hands over is kept in the tab's sessionStorage (launch.js) and goes with every API call
// as the X-LTI-Session header, never in an address; the report is fetched with it and
// saved as a file.
//
// Everything the server says is inserted with textContent (through el()): this file never
// parses server text as HTML.

import { apiHeaders, el, ltiSession, readDetail } from "./common.js";

const params = new URLSearchParams(window.location.search);
const COURSE = params.get("course") ?? "";
const TOKEN = ltiSession();
const POLL_MS = 1000;
const ACTIVE = new Set(["queued", "running"]);

// The API lives next to the page: this file is <root>/static/instructor.js.
const ROOT = new URL("../", import.meta.url);
const api = (path) => new URL(path, ROOT);

const $ = (id) => document.getElementById(id);
const ui = {
  courseName: $("course-name"),
  studentView: $("student-view"),
  status: $("status"),
  uploadForm: $("upload-form"),
  files: $("files"),
  upload: $("upload"),
  uploadJob: $("upload-job"),
  uploadProgress: $("upload-progress"),
  uploadState: $("upload-state"),
  uploadStatus: $("upload-status"),
  uploadReport: $("upload-report"),
  uploadSummary: $("upload-summary"),
  uploadLists: $("upload-lists"),
  evalForm: $("eval-form"),
  evalLimit: $("eval-limit"),
  runEval: $("run-eval"),
  evalJob: $("eval-job"),
  evalProgress: $("eval-progress"),
  evalState: $("eval-state"),
  evalStatus: $("eval-status"),
  evalResult: $("eval-result"),
  evalSummary: $("eval-summary"),
  evalReport: $("eval-report"),
};

// --- small helpers ------------------------------------------------------------------

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

function announce(region, text) {
  region.textContent = text;
}

/** Headers for an API call: the LTI session on every one. */
function headers(extra = {}) {
  return apiHeaders(extra);
}

class ApiError extends Error {}

/** fetch + JSON; a refused request throws an ApiError whose message says why. */
async function call(path, options = {}) {
  const response = await fetch(api(path), {
    ...options, headers: headers({ accept: "application/json", ...(options.headers ?? {}) }),
  });
  if (!response.ok) throw new ApiError(await describeFailure(response));
  return response.json();
}

/** A sentence for a refused request. */
async function describeFailure(response) {
  const detail = await readDetail(response);
  const { status } = response;
  if (status === 401) return sentence(detail || "Open studyhall from your course again");
  if (status === 403) return sentence(detail || "This needs an instructor of the course");
  if (status === 413) return `Too large: ${detail || "send fewer or smaller files"}.`;
  if (status === 415) return `Unsupported file: ${detail}.`;
  if (status === 404 || status === 422) return detail || `Refused (HTTP ${status}).`;
  return `Something went wrong (HTTP ${status})${detail ? `: ${detail}` : ""}.`;
}

/** "open it again" → "Open it again." */
function sentence(text) {
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** Poll a job until it ends, calling `onUpdate` with each state; returns the last one.
 * A few failed polls in a row (the network, a restart) are retried before giving up. */
async function follow(path, onUpdate) {
  let failures = 0;
  for (;;) {
    let job;
    try {
      job = await call(path);
      failures = 0;
    } catch (error) {
      if (error instanceof ApiError || ++failures >= 5) throw error;
      await sleep(POLL_MS * failures);
      continue;
    }
    onUpdate(job);
    if (!ACTIVE.has(job.status)) return job;
    await sleep(POLL_MS);
  }
}

function showProgress(progress, stateLine, job, noun) {
  progress.max = Math.max(job.total ?? 0, 1);
  progress.value = job.done ?? 0;
  const counted = job.total ? ` ${job.done} of ${job.total} ${noun}` : "";
  const current = job.current ? `: ${job.current}` : "";
  stateLine.textContent = `${job.status}${counted}${current}`;
}

// --- the course ---------------------------------------------------------------------

async function loadCourse() {
  if (!COURSE) {
    ui.courseName.textContent = "No course";
    announce(ui.status, "This page needs a course: open it from your course in the LMS.");
    ui.upload.disabled = true;
    ui.runEval.disabled = true;
    return;
  }
  if (!TOKEN) {
    announce(ui.status, "No LTI session: open this page from your course in the LMS as an "
      + "instructor, or the service will refuse the uploads and evals.");
  }
  ui.studentView.href = `./?course=${encodeURIComponent(COURSE)}`;
  ui.studentView.hidden = false;
  ui.courseName.textContent = COURSE;
  try {
    const { courses = [] } = await call("v1/courses");
    const course = courses.find((c) => c.id === COURSE);
    if (course) {
      ui.courseName.textContent = course.title || course.id;
      document.title = `studyhall · instructor · ${course.title || course.id}`;
    } else {
      ui.courseName.textContent = `${COURSE} (no material yet)`;
    }
  } catch {
    // The name is a nicety: the id is already shown.
  }
}

// --- uploads ------------------------------------------------------------------------

async function uploadFiles() {
  const files = [...ui.files.files];
  if (!files.length) {
    announce(ui.uploadStatus, "Choose one or more files first.");
    ui.files.focus();
    return;
  }
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  ui.upload.disabled = true;
  ui.uploadReport.hidden = true;
  ui.uploadJob.hidden = false;
  showProgress(ui.uploadProgress, ui.uploadState, { status: "uploading", done: 0, total: 0 });
  announce(ui.uploadStatus, `Uploading ${files.length} file(s)…`);
  try {
    const path = `v1/courses/${encodeURIComponent(COURSE)}/files`;
    const job = await call(path, { method: "POST", body: form });
    announce(ui.uploadStatus, `Uploaded. Ingesting ${job.total} file(s)…`);
    const last = await follow(`v1/ingest-jobs/${encodeURIComponent(job.id)}`,
      (state) => showProgress(ui.uploadProgress, ui.uploadState, state, "files"));
    showIngestReport(last);
    ui.uploadForm.reset();
  } catch (error) {
    ui.uploadJob.hidden = true;
    announce(ui.uploadStatus, error instanceof ApiError ? error.message
      : "Could not reach studyhall. Check your connection and try again.");
  } finally {
    ui.upload.disabled = false;
  }
}

function showIngestReport(job) {
  const report = job.report ?? {};
  const skipped = Object.entries(report.skipped ?? {});
  const kept = new Set(report.kept_previous ?? []);
  const lists = [
    fileList("Added", report.added),
    fileList("Replaced", report.changed),
    fileList("Unchanged (already in the course)", report.unchanged),
  ];
  if (skipped.length) {
    const items = skipped.map(([name, reason]) => el("li", {}, [
      el("span", { text: name }),
      el("span", { className: "reason", text: reason }),
      ...(kept.has(name) ? [el("span", { className: "reason",
        text: "The course keeps serving its earlier version of this file." })] : []),
    ]));
    lists.push(el("div", { className: "skipped" }, [
      el("h4", { text: `Skipped (${skipped.length})` }), el("ul", {}, items)]));
  }
  if (job.status !== "done") {
    lists.unshift(el("p", { className: "failed",
      text: `The ingest ${job.status}: ${job.error ?? "no reason given"}` }));
  }
  ui.uploadLists.replaceChildren(...lists.filter(Boolean));
  ui.uploadSummary.textContent = report.summary ?? "";
  ui.uploadReport.hidden = false;
  const added = (report.added?.length ?? 0) + (report.changed?.length ?? 0);
  announce(ui.uploadStatus, job.status === "done"
    ? `Ingest done: ${added} file(s) added or replaced, ${skipped.length} skipped.`
    : `Ingest ${job.status}.`);
  ui.uploadReport.focus();
}

function fileList(title, names) {
  if (!names?.length) return null;
  return el("div", {}, [
    el("h4", { text: `${title} (${names.length})` }),
    el("ul", {}, names.map((name) => el("li", { text: name }))),
  ]);
}

// --- evals --------------------------------------------------------------------------

async function runEval() {
  const kind = new FormData(ui.evalForm).get("kind") ?? "retrieval";
  const limit = Number.parseInt(ui.evalLimit.value, 10);
  const body = { course: COURSE, kind };
  if (kind === "answers" && Number.isFinite(limit) && limit > 0) body.limit = limit;
  ui.runEval.disabled = true;
  ui.evalResult.hidden = true;
  ui.evalJob.hidden = false;
  showProgress(ui.evalProgress, ui.evalState, { status: "starting", done: 0, total: 0 });
  announce(ui.evalStatus, `Starting the ${kind} eval…`);
  try {
    const job = await call("v1/evals", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    announce(ui.evalStatus, `The ${kind} eval is running.`);
    const noun = kind === "answers" ? "questions" : "configurations";
    const last = await follow(`v1/evals/${encodeURIComponent(job.id)}`,
      (state) => showProgress(ui.evalProgress, ui.evalState, state, noun));
    showEvalResult(last);
  } catch (error) {
    ui.evalJob.hidden = true;
    announce(ui.evalStatus, error instanceof ApiError ? error.message
      : "Could not reach studyhall. Check your connection and try again.");
  } finally {
    ui.runEval.disabled = false;
  }
}

const PERCENT = (value) => (typeof value === "number" ? `${(value * 100).toFixed(1)}%` : "–");
const SCORE = (value) => (typeof value === "number" ? value.toFixed(3) : "–");
const ANSWER_MEASURES = [
  ["correct_with_citation", "answered correctly, with a correct citation", PERCENT],
  ["answered_right", "answered correctly, citation not required", PERCENT],
  ["over_refusal", "answerable questions wrongly refused", PERCENT],
  ["refusal_rate", "out-of-course questions refused", PERCENT],
  ["key_fact_recall", "key-fact recall", PERCENT],
  ["citation_precision", "citation precision", PERCENT],
];
const RETRIEVAL_MEASURES = [
  ["hit_at_5", "hit@5"], ["recall_at_10", "recall@10"], ["mrr_at_10", "MRR@10"],
  ["ndcg_at_10", "nDCG@10"],
];

function showEvalResult(job) {
  const parts = [];
  if (job.status !== "done") {
    parts.push(el("p", { className: "failed",
      text: `The eval ${job.status}: ${job.error ?? "no reason given"}` }));
  } else if (job.kind === "retrieval") {
    parts.push(retrievalTable(job.summary ?? {}));
  } else {
    parts.push(answerList(job.summary ?? {}));
  }
  ui.evalSummary.replaceChildren(...parts);
  const link = job.report?.html;
  ui.evalReport.hidden = !link;
  if (link) ui.evalReport.dataset.report = new URL(link, ROOT).href;
  ui.evalResult.hidden = false;
  announce(ui.evalStatus, job.status === "done" ? "The eval is done." : `The eval ${job.status}.`);
  ui.evalResult.focus();
}

function retrievalTable(summary) {
  const head = el("tr", {}, [el("th", { text: "configuration", attrs: { scope: "col" } }),
    ...RETRIEVAL_MEASURES.map(([, label]) => el("th", { text: label, attrs: { scope: "col" } }))]);
  const rows = Object.entries(summary).map(([mode, scores]) => el("tr", {}, [
    el("th", { text: mode, attrs: { scope: "row" } }),
    ...RETRIEVAL_MEASURES.map(([key]) => el("td", { text: SCORE(scores?.[key]) })),
  ]));
  return el("table", { className: "scores" }, [
    el("caption", { className: "visually-hidden", text: "Retrieval scores" }),
    el("thead", {}, [head]), el("tbody", {}, rows)]);
}

function answerList(summary) {
  const items = ANSWER_MEASURES.filter(([key]) => key in summary).flatMap(
    ([key, label, format]) => [el("dt", { text: label }), el("dd", { text: format(summary[key]) })]);
  if ("answerable" in summary) {
    items.push(el("dt", { text: "questions (answerable / out of course)" }),
      el("dd", { text: `${summary.answerable} / ${summary.unanswerable ?? "–"}` }));
  }
  return el("dl", { className: "scores" }, items);
}

/** Fetch the report with the session (a link could not carry it) and save it as a file. */
async function saveReport() {
  const url = ui.evalReport.dataset.report;
  if (!url) return;
  try {
    const response = await fetch(url, { headers: headers() });
    if (!response.ok) throw new ApiError(await readDetail(response) || `HTTP ${response.status}`);
    const file = URL.createObjectURL(await response.blob());
    const save = el("a", { attrs: { href: file, download: `studyhall-${COURSE}-eval.html` } });
    document.body.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(file), 60_000);
  } catch (error) {
    announce(ui.evalStatus, `Could not fetch the report: ${error.message}`);
  }
}

// --- wiring -------------------------------------------------------------------------

function wire() {
  ui.evalReport.addEventListener("click", saveReport);
  ui.uploadForm.addEventListener("submit", (event) => {
    event.preventDefault();
    uploadFiles();
  });
  ui.evalForm.addEventListener("submit", (event) => {
    event.preventDefault();
    runEval();
  });
}

wire();
loadCourse();
