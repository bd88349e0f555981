"""The mobility platform's business-mobile API: the paged pull of additional costs (tolls,
parking, fines). Wire model in ``wire``, pages and paging strategies in ``pages`` and
``pager``, the mapping to the store in ``mapping``, the I/O in ``api``, ``pull`` and
``refresh``."""
