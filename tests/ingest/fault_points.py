"""Run the studyhall CLI with one fault point armed: when the ingest reaches the named phase,
print ``FAULT-POINT <phase>`` and wait there, so a test can kill the real process with
SIGKILL at exactly that moment (tests/ingest/test_faults.py); with ``FAULT_POINT_RESUME``
set to a path, it goes on once that file exists (a test holding an ingest mid-way).

    python tests/ingest/fault_points.py PHASE studyhall-arguments...

Phases, in the order an ingest meets them:
  parsing     one file read, the next not yet
  embedding   the new chunks' vectors computed, nothing written
  writing     the staged version's chunks, vectors and FAISS index written; BM25 and the
              manifest not yet
  publishing  the version renamed into place, CURRENT not yet pointing at it
  moving      (an upload job in `serve`) the version published, the first uploaded file
              moved into the course folder, the others not yet
"""

from __future__ import annotations

import os
import sys
import time

PHASES = ("parsing", "embedding", "writing", "publishing", "moving")


def reached(phase: str) -> None:
    print(f"FAULT-POINT {phase}", flush=True)
    resume = os.environ.get("FAULT_POINT_RESUME")  # a file: go on once it exists
    while not (resume and os.path.exists(resume)):  # else the test kills the process here
        time.sleep(0.1)


def after(function, phase: str, nth: int = 1):
    """``function``, which announces ``phase`` and stops once its nth call has returned."""
    calls = 0

    def armed(*args, **kwargs):
        nonlocal calls
        result = function(*args, **kwargs)
        calls += 1
        if calls == nth:
            reached(phase)
        return result

    return armed


def arm(phase: str) -> None:
    if phase == "parsing":
        from ingest import pipeline

        init = pipeline.Ingestor.__init__

        def patched(self, *args, **kwargs):
            init(self, *args, **kwargs)
            self.parse = after(self.parse, phase)

        pipeline.Ingestor.__init__ = patched
    elif phase == "embedding":
        from ingest.embedder import SentenceTransformerEmbedder

        SentenceTransformerEmbedder.embed = after(SentenceTransformerEmbedder.embed, phase)
    elif phase == "writing":
        from ingest import store

        store.save_index = after(store.save_index, phase)
    elif phase == "publishing":
        from ingest import catalog

        catalog.fsync_dir = after(catalog.fsync_dir, phase)  # the first is right after rename
    elif phase == "moving":
        from ingest import jobs

        class Os:
            replace = staticmethod(after(os.replace, phase))

            def __getattr__(self, name):
                return getattr(os, name)

        jobs.os = Os()
    else:
        raise SystemExit(f"unknown phase {phase!r}; one of {', '.join(PHASES)}")


if __name__ == "__main__":
    arm(sys.argv[1])
    from studyhall.cli import main

    sys.argv = ["studyhall", *sys.argv[2:]]
    sys.exit(main())
