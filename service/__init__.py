"""The application service: what ``cli/``, ``bot/``, ``demo/`` (and the scheduler to come) call
to run a check, trace an invoice, read the health of every integration, look an integration up,
or request, decide and run an action (``service.actions``). ``app.py`` composes it once
(:class:`service.container.Services`).

Modules are imported by name (``service.lookup`` stays cheap for the command line's argument
handling); nothing is re-exported here, so importing one module never loads the rest.
"""
