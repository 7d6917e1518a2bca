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


def test_at_the_first_place_two_templates_differ_a_static_segment_wins():
    routes = table(("anyKind", "post", "/{kind}/{id}"), ("fetch", "post", "/fetch/{id}"), ("deep", "post", "/{a}/b/{c}"),
                   ("deeper", "post", "/{a}/{b}/c"))
    assert routes.match("POST", "/v1/fetch/7") == Match("fetch", {"id": "7"}, ("POST",))
    assert routes.match("POST", "/v1/images/7") == Match("anyKind", {"kind": "images", "id": "7"}, ("POST",))
    assert routes.match("POST", "/v1/x/b/y") == Match("deep", {"a": "x", "c": "y"}, ("POST",))
    assert routes.match("POST", "/v1/x/y/c") == Match("deeper", {"a": "x", "b": "y"}, ("POST",))
    assert [path for _m, path, _op in routes.routes()] == ["/v1/fetch/{id}", "/v1/{a}/b/{c}", "/v1/{a}/{b}/c",
                                                          "/v1/{kind}/{id}"]


def test_a_parameter_may_be_part_of_a_segment_and_static_text_around_it_must_match():
    routes = table(("file", "get", "/files/{name}.png"), ("pair", "get", "/pair/{a}-{b}/x"))
    assert routes.match("GET", "/v1/files/cat.png") == Match("file", {"name": "cat"}, ("GET",))
    assert routes.match("GET", "/v1/files/cat.jpg") == Match(None, {}, ())
    assert routes.match("GET", "/v1/files/.png") == Match(None, {}, ()), "a parameter is never empty"
    assert routes.match("GET", "/v1/pair/one-two/x") == Match("pair", {"a": "one", "b": "two"}, ("GET",))
    assert routes.match("GET", "/v1/pair/one-two/xy") == Match(None, {}, ())
    assert routes.match("GET", "/v1/extra/pair/one-two/x") == Match(None, {}, ()), "anchored at the start"


def test_only_a_lenient_last_parameter_after_a_slash_may_be_empty():
    lenient = table(("mid", "post", "/a/{x}/b"), ("file", "post", "/f/{name}.png"), lenient=("mid", "file"))
    assert lenient.match("POST", "/v1/a//b") == Match(None, {}, ())
    assert lenient.match("POST", "/v1/a/1/b/") == Match("mid", {"x": "1"}, ("POST",))
    assert lenient.match("POST", "/v1/f/.png") == Match(None, {}, ())


def test_operations_of_one_path_shape_share_a_route_whatever_their_parameter_names():
    routes = table(("show", "get", "/pets/{id}"), ("drop", "delete", "/pets/{petId}"), ("fetch", "post", "/jobs/{id}"),
                   ("peek", "get", "/jobs/{job}"), lenient=("fetch",))
    assert routes.match("DELETE", "/v1/pets/3") == Match("drop", {"petId": "3"}, ("GET", "DELETE"))
    assert routes.match("GET", "/v1/pets/3") == Match("show", {"id": "3"}, ("GET", "DELETE"))
    # a lenient operation's pattern is the route's (its trailing slash), the other keeps its names
    assert routes.match("GET", "/v1/jobs/4/") == Match("peek", {"job": "4"}, ("POST", "GET"))
    assert routes.match("POST", "/v1/jobs/4/") == Match("fetch", {"id": "4"}, ("POST", "GET"))


def test_a_static_path_ending_in_a_slash_gets_no_second_one():
    routes = table(("root", "post", "/items/"), lenient=("root",))
    assert routes.match("POST", "/v1/items/") == Match("root", {}, ("POST",))
    assert routes.match("POST", "/v1/items//") == Match(None, {}, ())
    strict = table(("list", "post", "/items"))
    assert strict.match("POST", "/v1/items/") == Match(None, {}, ())


def test_the_table_knows_its_base_and_every_path():
    pets = table(("listPets", "get", "/pets"), ("myPets", "get", "/pets/mine"), ("showPet", "get", "/pets/{id}"),
                 ("showToy", "get", "/pets/{id}/toys/{toy}"))  # built here: mutants of the constructor run
    assert pets.base_path == "/v1"
    assert pets.paths == ["/v1/pets", "/v1/pets/mine", "/v1/pets/{id}", "/v1/pets/{id}/toys/{toy}"]


def test_a_static_segment_wins_even_when_it_sorts_after_a_brace():
    routes = table(("anyKind", "get", "/{kind}/{id}"), ("tilde", "get", "/~files/{id}"))
    assert routes.match("GET", "/v1/~files/3") == Match("tilde", {"id": "3"}, ("GET",))


def test_a_lenient_operation_joining_a_route_keeps_the_methods_already_there():
    routes = table(("peek", "get", "/jobs/{job}"), ("fetch", "post", "/jobs/{id}"), lenient=("fetch",))
    assert routes.match("GET", "/v1/jobs/4") == Match("peek", {"job": "4"}, ("GET", "POST"))
    assert routes.match("POST", "/v1/jobs/") == Match("fetch", {"id": ""}, ("GET", "POST"))


def test_a_table_built_here_knows_its_base():
    assert table(("a", "get", "/a"), base="/api/v9").base_path == "/api/v9"
