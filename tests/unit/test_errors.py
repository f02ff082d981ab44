"""Problems: text for whoever prints them, structure for whoever reads them."""
from __future__ import annotations

import json

from lkbuild.errors import GraphError, Location, Problem


def test_a_problem_is_its_text_with_a_code_and_a_location():
    where = Location("/r/robot.py", 3, 4)
    problem = Problem("rate_hz must be positive.", "LK250", where)
    assert problem == "/r/robot.py:3:4: rate_hz must be positive."
    assert (problem.code, problem.message, problem.location) == ("LK250", "rate_hz must be positive.", where)
    assert json.dumps([problem]) == json.dumps(["/r/robot.py:3:4: rate_hz must be positive."])


def test_a_graph_error_located_later_locates_its_single_problem():
    err = GraphError("outputs must be names.", code="LK252")
    assert err.problems == ["outputs must be names."] and err.code == "LK252"
    err.location = Location("/r/robot.py", 9)  # what the loader does: the user's line of the failing call
    assert str(err) == "/r/robot.py:9: outputs must be names."
    assert err.problems[0].location == Location("/r/robot.py", 9) and err.problems[0].code == "LK252"


def test_several_problems_keep_their_own_locations():
    err = GraphError([Problem("a", "LK201", Location("/r/a.py", 1)), "b"])
    assert str(err) == "2 problems in the system:\n  - /r/a.py:1: a\n  - b"
    assert [p.code for p in err.problems] == ["LK201", "LK200"]
