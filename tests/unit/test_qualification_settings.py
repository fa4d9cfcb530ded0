"""The typed qualification settings: the stored JSON read once, every default in one place."""
from __future__ import annotations

from examportal.qualifications.settings import QualificationSettings, TheorySettings
from question_bank.definition import definition_path, load_definition


def test_a_stored_definition_reads_back_whole():
    definition = load_definition(definition_path("13881"))
    stored = definition.to_dict()["settings"]
    rules = QualificationSettings.from_json(stored)
    written = definition.settings
    assert rules.theory == TheorySettings(
        item_count=written.theory.item_count, time_limit_minutes=written.theory.time_limit_minutes,
        pass_mark_percent=float(written.theory.pass_mark_percent), decision_rule=written.theory.decision_rule,
        partial_credit=written.theory.partial_credit)
    assert (rules.appeal_window_days, rules.appeal_decision_days, rules.review_request_days, rules.carry_over_months,
            rules.min_committee_size, rules.theory_required_for_practical, rules.renewal_min_crm_work_months,
            rules.certificate_validity_years) == (
        written.appeal_window_days, written.appeal_decision_days, written.review_request_days, written.carry_over_months,
        written.min_committee_size, written.theory_required_for_practical, written.renewal_min_crm_work_months,
        written.certificate_validity_years)
    assert written.staff_requirements is not None
    assert dict(rules.staff_requirements) == written.staff_requirements.to_dict()


def test_missing_keys_take_the_defaults_the_readers_used():
    for stored in ({}, None, [], {"theory": "not a mapping", "staff_requirements": ["x"]}):
        rules = QualificationSettings.from_json(stored)
        assert rules.theory == TheorySettings(item_count=30, time_limit_minutes=45, pass_mark_percent=55.0,
                                              decision_rule="compensatory", partial_credit="all_or_nothing")
        assert (rules.appeal_window_days, rules.appeal_decision_days, rules.review_request_days, rules.carry_over_months,
                rules.min_committee_size, rules.theory_required_for_practical, rules.renewal_min_crm_work_months,
                rules.certificate_validity_years, dict(rules.staff_requirements)) == (14, 30, 7, 12, 2, True, 12, None, {})


def test_values_that_are_not_positive_whole_numbers_count_as_missing_where_readers_said_so():
    rules = QualificationSettings.from_json({"renewal_min_crm_work_months": 0, "certificate_validity_years": "5",
                                             "staff_requirements": {"assessor": {"computer_skills": True}, "operator": 3}})
    assert rules.renewal_min_crm_work_months == 12 and rules.certificate_validity_years is None
    assert dict(rules.staff_requirements) == {"assessor": {"computer_skills": True}}
    # Read as the readers converted them: whole numbers, a float pass mark.
    assert QualificationSettings.from_json({"theory": {"pass_mark_percent": 60, "item_count": "36"}}).theory.pass_mark_percent == 60.0
    assert QualificationSettings.from_json({"theory": {"item_count": "36"}}).theory.item_count == 36
