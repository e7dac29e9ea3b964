"""Stripe emulator: the v1 REST paths Sync Doctor reads and writes, in Stripe's wire format.

Serves ``/v1/account``, ``/v1/customers``, ``/v1/products``, ``/v1/prices``, ``/v1/invoices``,
``/v1/invoices/search``, ``/v1/invoices/{id}``, ``/v1/invoices/{id}/lines``, ``/v1/invoiceitems``
and ``/v1/tax_rates``
with Stripe's list envelope (``{"object": "list", "data", "has_more", "url"}``, newest first,
``limit`` 1-100, ``starting_after`` / ``ending_before``), form-encoded bodies in bracket
notation (``metadata[sku]=...``, ``tax_rates[0]=...``), ids with Stripe's prefixes,
``livemode`` from the key's mode, ``Idempotency-Key`` replay (same key + other parameters ->
``idempotency_error``), and the ``{"error": {type, code, message, param}}`` envelope. Stripe
has no OAuth here: keys are looked up in ``api_keys`` (no ``token_path``).

World section (``stripe:`` in a world file), on top of ``faults`` from ``sandbox/base.py``::

    api_keys:
      - key: sk_test_acme             # sk_/rk_ + test_/live_: the prefix sets livemode
        account: acct_acme
        revoked: false                # true: 401 "Invalid API Key provided: sk_test_****acme"
        expired: false                # true: 401 code api_key_expired
        permissions: [rak_customer_read, ...]   # rk_ keys only; missing = every permission
    endpoint_permissions:             # optional: override "METHOD /path" -> rak_* name below
      "GET /v1/account": rak_account_read
    search_lag_seconds: 0             # search is eventually consistent: newer objects are not found yet
    lock_timeouts: 0                  # the next N POSTs answer 409 lock_timeout + Stripe-Should-Retry: true
    should_retry_server_errors: null  # true / false: Stripe-Should-Retry sent on 5xx answers
    invoice_line_shape: "2023-08-16"  # or "basil": the 2025-03-31 line / invoice shape
    invoice_lines_inline: 10          # lines embedded in an invoice before lines.has_more
    accounts:
      acct_acme:
        business_name: Acme Pty Ltd   # business_profile.name
        display_name: Acme            # settings.dashboard.display_name
        country: AU
        default_currency: aud
        email: billing@acme.test
        customers: [{id, name, email, address: {line1, city, state, postal_code, country},
                     currency, metadata, created, deleted}]
        products:  [{id, name, active, metadata: {sku: PROD-001}, default_price, created}]
        prices:    [{id, product, unit_amount, currency, active, type, created}]
        tax_rates: [{id, display_name, percentage, inclusive, active, jurisdiction, country, tax_type}]
        invoices:  [{id, number, customer, status, currency, created, due_date, amount_paid,
                     metadata, application,   # application: the Connect app (ca_...) that created it
                     lines: [{price | product + unit_amount | amount, quantity,
                                        description, tax_rates: [txr_...]}]}]

``created`` / ``due_date`` take a unix time or an ISO date. Creating an invoice with a
``due_date`` that has passed is refused, as Stripe refuses it. ``invoice_line_shape`` is
configurable because the official spec here is 2023-08-16 while accounts pinned to newer
versions get ``pricing.price_details`` / ``parent`` / ``taxes`` lines
(``specs/stripe/README.md``; seed shapes follow ``fixtures3.json``). The permission names
other than ``rak_subscription_read`` (seen in a real error, PROVIDERS.md [SP]) follow Stripe's
``rak_<resource>_<read|write>`` pattern and are overridable with ``endpoint_permissions``.

Modules: ``emulator`` (routes, keys, idempotency), ``reads`` and ``writes`` (the handlers),
``params`` (what each endpoint accepts, form decoding), ``world`` (loading keys and accounts),
``store`` (accounts in memory), ``objects`` (objects as stored), ``render`` (objects as
answered), ``wire`` (ids, times, error envelope).
"""

from __future__ import annotations

from sandbox.stripe.emulator import StripeEmulator
from sandbox.stripe.params import parse_form

__all__ = ["StripeEmulator", "parse_form"]
