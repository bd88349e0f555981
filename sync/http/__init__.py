"""The HTTP layer both remotes share: a client with a total deadline per request, token auth
as an ``httpx.Auth`` flow, and the retry policy (in-run retries on tenacity, and the
persisted schedule of journal entries)."""
