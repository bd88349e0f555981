"""Helpers shared by the tests: plain functions and classes that tests import (fixtures stay
in the conftest files, which nothing imports)."""
