"""The interview question sets cover every interview criterion and only interview-verifiable ones."""
import re

import pytest

from question_bank import interview
from question_bank.definition import definition_path, load_definition


@pytest.fixture(scope="module")
def criteria():
    definition = load_definition(definition_path("13881"))
    return {c.code: (c.method, c.interview_follow_up) for c in definition.criteria()}


def test_real_sets_load_and_cover_both_interview_criteria(criteria):
    sets = interview.load_sets("13881", criteria)
    assert {"1.3.c", "2.3.e"} <= set(sets)
    assert not sets["1.3.c"].follow_up and sets["1.1.c"].follow_up
    for code in ("1.3.c", "2.3.e"):
        assert len(sets[code].variants) >= interview.MIN_VARIANTS
        rubric = sets[code].rubric
        assert rubric.look_for and rubric.not_met and 1 <= rubric.met_when <= len(rubric.look_for)
    assert all(v.questions for s in sets.values() for v in s.variants)


def test_variants_rotate_through_a_sessions_candidates(criteria):
    sets = interview.load_sets("13881", criteria)
    first = [sets["1.3.c"].variant_for(position).id for position in range(6)]
    assert len(set(first[:3])) == 3 and first[:3] == first[3:]


def test_the_language_is_fixed():
    text = interview.INTERVIEW_DIR.joinpath("13881.yaml").read_text(encoding="utf-8")
    assert "czysty biurko" not in text and "stosuje Pan/Pani na co dzień" not in text


def test_a_set_for_a_simulation_criterion_is_refused(criteria):
    broken = dict(criteria) | {"2.4.a": ("simulation", False)}
    sets_file_criteria = dict(broken.items())
    sets_file_criteria["1.1.c"] = ("test", False)  # no longer marked for a follow-up
    with pytest.raises(interview.InterviewSetError, match=r"sets\[2\]\.criterion: 1\.1\.c is verified by test"):
        interview.load_sets("13881", sets_file_criteria)


def test_missing_set_for_an_interview_criterion_is_reported(criteria):
    with pytest.raises(interview.InterviewSetError, match=re.escape("9.9.z")):
        interview.load_sets("13881", dict(criteria) | {"9.9.z": ("interview", False)})
