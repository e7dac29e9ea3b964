"""AroFlo emulator: the "AroFloAPI" zone queries Sync Doctor's AroFlo source makes.

One endpoint, ``GET /`` with URL variables (``zone``, repeated ``where=and|field|op|value``,
``join=lineitems``, ``page``, ``pageSize`` up to 500), answering AroFlo's envelope
``{"status": "0", "statusmessage": "Login OK", "zoneresponse": {"maxpageresults",
"pagenumber", "currentpageresults", "<zone>": [...]}}`` with every value a string, as AroFlo's
API reference shows (``/work/notes/middleware_jobapps.md`` section 3.1).

Every request's signature is verified as AroFlo does: the headers ``Authorization``
(``uencoded=..&pencoded=..&orgEncoded=..``), ``Authentication: HMAC <hex>``, ``afdatetimeutc``,
``Accept: text/json`` and ``HostIP`` (when sent, signed too), the HMAC-SHA512 of
``METHOD+[HostIP+]+accept+Authorization+afdatetimeutc+query`` under the credential's
``secret_key``. Failures answer status ``-99999`` with AroFlo's reasons ("Required headers are
missing", "AroFlo API setup is invalid", "Signatures do not match", "Payload has expired").
Without a WHERE clause the zone's default "created in the last 30 days" filter applies.

World section ``aroflo`` (on top of ``faults``)::

    credentials:
      - {uencoded: U1, pencoded: P1, orgencoded: O1, secret_key: s3cret, host_ip: null}
    clock_skew_seconds: 300          # "Payload has expired" outside it (AroFlo's window: UNCONFIRMED)
    per_minute: 60                   # AroFlo's reference says 60 and 120 (UNCONFIRMED which)
    per_day: 2000
    error_http_status: 200           # statuses arrive in a 200 body (UNCONFIRMED)
    default_filter_days: 30
    clients: [{clientid, clientname, firstname, surname, email, archived, postable, datecreated}]
    invoices:
      - invoicenumber: "1011"
        status: approved             # in progress | pending approval | approved | processed
        dateinvoiced: "{date:-5}"    # ISO or YYYY/MM/DD; sent as YYYY/MM/DD
        client: {orgid: C1, orgname: ABC Building}
        linkprocesseddate: ""        # blank until posted to the accounting system
        task: {taskid: T9, jobnumber: J-88}
        lines: [{ordercode: PJ151510, description: ..., qtybilled: 2, price: 83, taxrate: 10, accountcode: 4-1010}]

Modules: ``emulator`` (the endpoint, signatures, WHERE clauses, limits, loading the section).
"""

from __future__ import annotations

from sandbox.aroflo.emulator import AroFloEmulator

__all__ = ["AroFloEmulator"]
