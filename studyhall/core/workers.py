"""Jobs run by ``studyhall worker`` processes, fed by a Redis queue (RQ).

Why RQ: the jobs are Python calls (ingest an upload, run an eval, warm a course's KV
cache) that take minutes, one at a time per worker; RQ is that and little more, it needs
only Redis, and its workers are plain processes. Celery's brokers, routing and result
backends are more than this needs; Dramatiq's middleware too.

The queue carries only ``(table, job id)``: the job itself (its files, parameters,
progress and result) is the row in the service's database, where every replica reads it.
A worker runs jobs in its own process (RQ's ``SimpleWorker``), so the embedder and the
model it loads for one job serve the next. What happens when a worker dies is the row's
business, not RQ's (:mod:`studyhall.core.jobs`: claim, heartbeat, interrupted).
"""

from __future__ import annotations

from secrets import token_hex

QUEUE = "studyhall"
RUN_JOB = "studyhall.services.run_job"  # what a worker calls: (table, job id)
JOB_TIMEOUT_S = 6 * 3600  # RQ's own limit per job; a stuck one is the heartbeat's to find


class RedisQueue:
    """Job ids onto the Redis queue at ``url`` (``redis://host:port/db``)."""

    def __init__(self, url: str) -> None:
        from redis import Redis
        from rq import Queue

        self.url = url
        self.connection = Redis.from_url(url)
        self.queue = Queue(QUEUE, connection=self.connection)

    def enqueue(self, table: str, job_id: str) -> None:
        # one RQ job per try: a job that waits is put back while RQ still runs its try
        self.queue.enqueue(RUN_JOB, table, job_id, job_id=f"{table}-{job_id}-{token_hex(3)}",
                           job_timeout=JOB_TIMEOUT_S, result_ttl=3600, failure_ttl=86400)


def work(url: str, *, burst: bool = False, name: str | None = None) -> bool:
    """Run jobs from the queue until stopped (SIGTERM/SIGINT finish the job at hand;
    ``burst``: until the queue is empty). Whether any job ran."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    connection = Redis.from_url(url)
    worker = SimpleWorker([Queue(QUEUE, connection=connection)], connection=connection,
                          name=name)
    return worker.work(burst=burst, with_scheduler=False, logging_level="INFO")
