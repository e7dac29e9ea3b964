"""Quarterly health digests for managers: quarters in the configured time zone (``periods``),
the numbers from the daily counters, alerts and actions (``metrics``, into ``model.Digest``),
words (``text``), Markdown and JSON (``render``), and one chart (``chart``). Posting is the
surfaces' (``bot/publish.py``), through :class:`reports.digest.publish.DigestPublisher`."""
