"""Tight's v6 mileage API: the push of the change journal, and the reconciliation of creates
whose answer was lost. Wire models in ``wire``, the pure mapping and classification in
``mapping`` and ``verdicts``, the I/O in ``api``, ``batch`` and ``push``."""
