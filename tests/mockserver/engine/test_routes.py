"""Routing: the path first (concrete before templated, then the first template in order), then the method."""

from __future__ import annotations

from contracts.core.spec import Operation
from mockserver.engine.routes import Match, RouteTable


def table(*routes: tuple[str, str, str], lenient: tuple[str, ...] = (), base: str = "/v1") -> RouteTable:
    ops = {op_id: Operation(op_id, method, path, None) for op_id, method, path in routes}
    return RouteTable(ops, base, lenient)


PETS = table(("listPets", "get", "/pets"), ("addPet", "post", "/pets"), ("myPets", "get", "/pets/mine"),
             ("showPet", "get", "/pets/{id}"), ("deletePet", "delete", "/pets/{id}"),
             ("showToy", "get", "/pets/{id}/toys/{toy}"))


def test_a_static_path_with_the_method_is_its_operation():
    assert PETS.match("get", "/v1/pets") == Match("listPets", {}, ("GET", "POST"))
    assert PETS.match("POST", "/v1/pets") == Match("addPet", {}, ("GET", "POST"))


def test_a_concrete_path_is_matched_before_a_template_and_keeps_its_own_methods():
    assert PETS.match("GET", "/v1/pets/mine") == Match("myPets", {}, ("GET",))
    assert PETS.match("DELETE", "/v1/pets/mine") == Match(None, {}, ("GET",)), "a 405, not deletePet('mine')"


def test_a_template_gives_its_parameters_and_its_own_methods():
    assert PETS.match("DELETE", "/v1/pets/7") == Match("deletePet", {"id": "7"}, ("GET", "DELETE"))
    assert PETS.match("GET", "/v1/pets/7/toys/ball") == Match("showToy", {"id": "7", "toy": "ball"}, ("GET",))
    assert PETS.match("PUT", "/v1/pets/7") == Match(None, {}, ("GET", "DELETE"))


def test_unknown_paths_match_nothing():
    for path in ("/v1/cats", "/pets", "/v1/pets/7/toys", "/v1/pets/", "/v1/pets//toys/x", "/v1/pets/7/"):
        assert PETS.match("GET", path) == Match(None, {}, ()), path


def test_lenient_routes_take_one_trailing_slash_and_an_empty_last_parameter():
    family = table(("fetchByBody", "post", "/fetch"), ("fetchById", "post", "/fetch/{id}"),
                   lenient=("fetchByBody", "fetchById"), base="/api")
    assert family.match("POST", "/api/fetch/") == Match("fetchByBody", {}, ("POST",))
    assert family.match("POST", "/api/fetch/12/") == Match("fetchById", {"id": "12"}, ("POST",))
    strict = table(("fetchById", "post", "/fetch/{id}"), base="/api")
    assert strict.match("POST", "/api/fetch/12/") == Match(None, {}, ())
    empty = table(("fetchById", "post", "/fetch/{id}"), lenient=("fetchById",), base="/api")
    assert empty.match("POST", "/api/fetch/") == Match("fetchById", {"id": ""}, ("POST",))


def test_every_route_is_listed_in_matching_order():
    assert PETS.routes()[:4] == [("GET", "/v1/pets", "listPets"), ("POST", "/v1/pets", "addPet"),
                                 ("GET", "/v1/pets/mine", "myPets"), ("GET", "/v1/pets/{id}", "showPet")]
