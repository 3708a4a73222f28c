"""Automation jobs: what OTRS's GenericAgent does, administered (docs/automation.md).

- ``definition``: creating and changing jobs (checked, logged), and who may;
- ``selection``: the tickets a job finds (the search module's query, plus queues
  and ages);
- ``steps``: what a job may do to a ticket, each through ``helpline.actions``;
- ``triggers``: schedules and events;
- ``runner``: preview, runs in batches, resuming, and the worker's minute.

A layer above ``responses`` (a job sends templates) and below the entry points and
the worker (``helpline.jobs``).
"""
