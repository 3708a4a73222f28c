"""What an operator watches: readiness checks, metrics, request ids, worker heartbeats.

``readiness`` checks the database, Redis and the blob store; ``gauges`` reads the
state of the mail pipeline from the database in a fixed number of queries (whatever
the amount of data); ``metrics`` holds the per-process counters and renders one
scrape; ``requestid`` carries a request's id into log lines and the jobs it starts
(``jobqueue``); ``beat`` is the worker's heartbeat.  The web endpoints are in
``helpline.web.monitoring``; ``helpline status`` prints the same for people.
docs/monitoring.md describes every metric.
"""
