"""Loopback emulators of the external systems, each answering in its system's real wire format.

They are a product feature, not clients: the ``sandbox`` command, the demo, the tests and the
benchmarks start them; ``providers/`` and ``checks/`` never import them.

Shared machinery: ``base`` (the ``Emulator`` base: the ASGI app, the OAuth token endpoint, fault
injection, the request log), ``clock``, ``tokens`` (grants and their rotation), ``faults``,
``limits`` (rolling rate-limit windows), ``idempotency`` (answers saved under a key) and
``server`` (serving a world on loopback ports; reading world files). One package per system,
``xero``, ``quickbooks``, ``hubspot``, ``stripe``, ``zoho_books`` and ``myob``, the middleware ``make``
and ``zapier``, the job apps ``aroflo`` and ``jobapp`` (any JSON-over-HTTP app, and published exports), whose docstring
documents its world section.
"""
