"""``python -m sandbox.bench``: the deploy held against what it must at least do (issue 13).

A benchmark, not a test: on fresh sandbox hosts it measures the floor (the deploy's own package
set and images per host, pulled and installed in parallel over SSH), the bare deploy, the no-op
re-run, pyinfra's own connect-and-run-one-command floor, adding one agent against that agent's
floor, and larger clusters; it prints one table and writes the same figures as JSON.

Modules: optimes (pyinfra output -> operation timings), streamed (bounded subprocesses with
timestamped output), floor (the floor over SSH), grow (inventories of N hosts), report (figures,
goals, table, JSON, comparison), runner (the sandbox phases), __main__ (the command line).
"""
