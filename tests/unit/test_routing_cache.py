"""The tests' cache of werkzeug's URL builders (tests/routing_cache.py) gives what werkzeug compiles."""
from __future__ import annotations

from tests import routing_cache


def _code(builder) -> tuple:
    code = builder.__code__
    return code.co_code, code.co_consts, code.co_names, code.co_varnames, builder.__defaults__


def test_every_rule_gets_the_builder_werkzeug_would_compile(app):
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 100
    for rule in rules:
        for append_unknown in (False, True):
            kept = routing_cache._compile_builder(rule, append_unknown)
            fresh = routing_cache._original(rule, append_unknown)
            assert _code(kept) == _code(fresh), (rule.rule, append_unknown)


def test_a_second_app_reuses_the_first_apps_builders(app, app_factory):
    other = app_factory()
    first = {(rule.endpoint, rule.rule): rule for rule in app.url_map.iter_rules()}
    for rule in other.url_map.iter_rules():
        assert rule._build.__func__ is first[rule.endpoint, rule.rule]._build.__func__, rule.rule


def test_rules_that_differ_in_a_default_get_their_own_builder():
    from werkzeug.routing import Map, Rule

    one = Rule("/list/<int:page>", endpoint="a", defaults={"page": 1})
    two = Rule("/list/<int:page>", endpoint="b", defaults={"page": 2})
    Map([one, two])
    assert one._build.__func__ is not two._build.__func__
    assert one.build({}) != two.build({})
