"""``helpline import znuny``: everything an OTRS 6 / Znuny 6–7 database holds, brought
across by name, incrementally and resumably (docs/migrating-from-znuny.md).

The run is a list of phases (``runner.PHASES``); each reads the source through
``source.Source`` and writes Helpline's rows directly (an import is not a series of
agent actions: nothing is announced, mailed or re-checked against the importing
user), remembering every source row it brought across in ``ImportedObject``
(``state.Mapping``) so that a second run updates instead of duplicating and a killed
run, run again, ends with the same result.
"""
