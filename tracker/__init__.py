"""trip-tracker's local side: trips, waypoints, cars and costs in one SQLite file, with a
change journal (outbox) written in the same transaction as every change.

Works with no network, always. Importing this package opens no database.
"""
