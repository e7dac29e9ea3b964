"""The scheduler: jobs that run on their own (the monitoring sweep, retention, and the jobs the
other packages add to :data:`scheduling.jobs.JOBS`), once per period across every replica.

``periods.py`` names a job's period at an instant; ``jobs.py`` is the job table; ``runner.py``
ticks (APScheduler), claims due periods in the database (``store/claims.py``) and runs what it
won; ``sweep.py`` and ``retention.py`` are the two jobs this package owns.
"""
