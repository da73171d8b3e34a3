from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from custguard.policy import (
    GradeCode,
    PolicyDocument,
    default_policy_text,
    load_default_policy,
    validate_policy_data,
    validate_policy_text,
)

from .support import default_data, problem_paths, problems_at


def test_default_policy_validates() -> None:
    assert validate_policy_text(default_policy_text()) == []
    policy = load_default_policy()
    assert [band.code for band in policy.grades] == list(GradeCode)
    assert policy.classification.abc.a_percent == 20
    assert policy.credit.override_approval_threshold == Decimal("500000.00")
    assert policy.scorecard.max_score == 1000


def test_document_is_immutable() -> None:
    policy = load_default_policy()
    with pytest.raises(ValidationError):
        policy.appeals.window_days = 30  # type: ignore[misc]
    assert isinstance(policy.violation_types, tuple)


def test_every_mistake_is_reported_at_its_path() -> None:
    data = default_data()
    data["meta"]["owner"] = "credit department"
    data["violation_types"][2]["severity"] = "TERRIBLE"
    data["penalty_ladder"][0]["duration_days"] = None
    data["scorecard"]["factors"][2]["bins"][0]["upper"] = "3"
    data["grades"][3]["min_score"] = 900
    data["credit"]["scale_multipliers"]["LARGE"] = "0"
    data["blacklist"]["criteria"][0]["count"] = 3
    data["classification"]["abc"]["b_percent"] = "40"
    data["points"]["expiry_months"] = True
    data["alerts"][4]["operator"] = ">="
    del data["complaints"]["sla_hours"]["LOW"]

    assert problem_paths(data) == [
        "meta.owner",
        "violation_types[2].severity",
        "penalty_ladder[0].duration_days",
        "scorecard.factors[2].bins[0].upper",
        "grades[3].min_score",
        "credit.scale_multipliers.LARGE",
        "blacklist.criteria[0].count",
        "classification.abc",
        "points.expiry_months",
        "alerts[4].operator",
        "complaints.sla_hours",
    ]


def test_problems_in_yaml_text_point_at_their_line_and_column() -> None:
    # The value sits after Chinese text on its line: columns count characters, not bytes.
    text = default_policy_text().replace("  name: 默认客户管理政策\n",
                                         "  name: 默认客户管理政策\n  owner: {部门: 信用部}\n", 1)
    lines = text.splitlines()
    line = next(number for number, row in enumerate(lines, start=1) if "owner:" in row)
    flow_line = next(number for number, row in enumerate(lines, start=1)
                     if "count: 2, window_days: 180" in row)
    text = text.replace("count: 2, window_days: 180", "count: 2, window_days: 一百八十", 1)
    problems = {problem.path: problem for problem in validate_policy_text(text)}

    assert (problems["meta.owner"].line, problems["meta.owner"].column) == (line, 3)
    window = problems["penalty_ladder[1].trigger.window_days"]
    assert window.line == flow_line
    assert window.column == lines[flow_line - 1].index("window_days") + 1


def test_a_key_given_twice_in_yaml_is_an_error_at_its_line() -> None:
    text = default_policy_text().replace("schema_version: 4\n",
                                         "schema_version: 4\nschema_version: 4\n", 1)
    problems = validate_policy_text(text)
    assert len(problems) == 1
    assert "duplicate key" in problems[0].message
    assert problems[0].line == text.splitlines().index("schema_version: 4") + 2


def test_missing_and_unknown_sections() -> None:
    data = default_data()
    del data["scorecard"]
    data["rewards"] = {}
    assert problem_paths(data) == ["scorecard", "rewards"]


@pytest.mark.parametrize("document", [None, [], "policy", 3])
def test_document_must_be_a_mapping(document: object) -> None:
    problems = validate_policy_data(document)
    assert [(p.path, p.message) for p in problems] == [
        ("", "the policy document must be a mapping of sections")
    ]


def _bins(*spec: tuple[object, object]) -> list[dict[str, Any]]:
    return [
        {"lower": lower, "upper": upper, "points": 10 * i, "reason_code": f"BIN_{i}"}
        for i, (lower, upper) in enumerate(spec)
    ]


@pytest.mark.parametrize(
    ("bins", "expected"),
    [
        (_bins((None, "10"), ("5", "20"), ("20", None)), {"bins[0].upper": "overlaps"}),
        (_bins((None, "10"), ("12", "20"), ("20", None)), {"bins[0].upper": "gap"}),
        (_bins(("0", "10"), ("10", None)), {"bins[0].lower": "open below"}),
        (_bins((None, "10"), ("10", "50")), {"bins[1].upper": "open above"}),
        (_bins((None, "10"), (None, None)), {"bins[1].lower": "only the first"}),
        (_bins((None, None), ("10", None)), {"bins[0].upper": "only the last"}),
        (
            _bins((None, "10"), ("10", "5"), ("5", None)),
            {"bins[1].upper": "greater than this bin's lower bound 10"},
        ),
    ],
)
def test_bins_must_be_contiguous_and_cover_the_line(
    bins: list[dict[str, Any]], expected: dict[str, str]
) -> None:
    data = default_data()
    data["scorecard"]["factors"][1]["bins"] = bins
    problems = validate_policy_data(data)
    found = {p.path: p.message for p in problems}
    assert set(found) == {f"scorecard.factors[1].{path}" for path in expected}
    for path, fragment in expected.items():
        assert fragment in found[f"scorecard.factors[1].{path}"]


def test_bins_problems_of_several_factors_are_all_reported() -> None:
    data = default_data()
    data["scorecard"]["factors"][0]["bins"][1]["lower"] = "61"
    data["scorecard"]["factors"][3]["bins"][2]["upper"] = "16"
    data["scorecard"]["factors"][3]["bins"][4]["upper"] = "99"
    assert problem_paths(data) == [
        "scorecard.factors[0].bins[0].upper",
        "scorecard.factors[3].bins[4].upper",
        "scorecard.factors[3].bins[2].upper",
    ]


def test_missing_rule_cannot_beat_the_best_bin() -> None:
    data = default_data()
    data["scorecard"]["factors"][0]["missing"]["points"] = 151
    assert problem_paths(data) == ["scorecard.factors[0].missing.points"]


def test_duplicate_factor_codes() -> None:
    data = default_data()
    data["scorecard"]["factors"][4]["code"] = "MAX_DAYS_PAST_DUE"
    assert problem_paths(data) == ["scorecard.factors[4].code"]


def test_grade_scores_must_descend_strictly() -> None:
    data = default_data()
    data["grades"][2]["min_score"] = data["grades"][1]["min_score"]
    data["grades"][6]["min_score"] = 650
    assert problem_paths(data) == ["grades[2].min_score", "grades[6].min_score"]


def test_grades_must_be_listed_once_best_first() -> None:
    data = default_data()
    data["grades"][0], data["grades"][1] = data["grades"][1], data["grades"][0]
    paths = problem_paths(data)
    assert paths[:2] == ["grades[0].code", "grades[1].code"]
    data = default_data()
    del data["grades"][7]
    assert problems_at(data, "grades") == ["missing grades: D"]


def test_grade_terms_never_better_for_worse_grades() -> None:
    data = default_data()
    data["grades"][4]["base_credit_limit"] = "900000.00"
    data["grades"][5]["payment_terms_days"] = 45
    data["grades"][6]["prepay_only"] = False
    data["grades"][6]["base_credit_limit"] = "50000.00"
    data["grades"][7]["review_interval_days"] = 120
    assert problem_paths(data) == [
        "grades[4].base_credit_limit",
        "grades[5].payment_terms_days",
        "grades[7].review_interval_days",
        "grades[7].review_interval_days",
    ]


def test_prepay_only_grades_have_no_credit() -> None:
    data = default_data()
    data["grades"][5]["prepay_only"] = True
    assert problem_paths(data) == ["grades[5].base_credit_limit", "grades[5].payment_terms_days"]
    data = default_data()
    data["grades"][7]["prepay_only"] = False
    data["grades"][6]["prepay_only"] = False
    assert problem_paths(data) == ["grades[7].prepay_only"]


def test_speculative_grades_are_reviewed_quarterly() -> None:
    data = default_data()
    for band in data["grades"]:
        band["review_interval_days"] = 180
    assert problem_paths(data) == [f"grades[{i}].review_interval_days" for i in range(4, 8)]


def test_top_grade_must_be_reachable() -> None:
    data = default_data()
    data["grades"][0]["min_score"] = 1001
    assert problem_paths(data) == ["grades[0].min_score"]


def test_abc_shares_must_add_up_to_100() -> None:
    data = default_data()
    data["classification"]["abc"].update(a_percent="20", b_percent="50", c_percent="20.5")
    assert problems_at(data, "classification.abc") == [
        "A, B and C shares must add up to 100, not 90.5"
    ]
    data["classification"]["abc"]["c_percent"] = "30.0"
    assert validate_policy_data(data) == []


def test_penalty_ladder_rules() -> None:
    data = default_data()
    ladder = data["penalty_ladder"]
    ladder[3]["measures"] = ["WARNING"]  # milder than the step before it
    ladder[3]["fine_amount"] = "0.00"
    ladder[4]["fine_amount"] = "0.00"  # FINE without an amount
    ladder[5]["duration_days"] = None  # only a termination lasts until lifted
    ladder[6]["duration_days"] = 30  # a termination has no duration
    ladder[2]["credit_limit_percent"] = 100  # a limit reduction that reduces nothing
    ladder[1]["points_deduction"] = 0
    ladder[1]["trigger"].update(count=1, window_days=400)  # met whenever step 0 is
    assert problem_paths(data) == [
        "penalty_ladder[1].points_deduction",
        "penalty_ladder[2].credit_limit_percent",
        "penalty_ladder[4].fine_amount",
        "penalty_ladder[5].duration_days",
        "penalty_ladder[6].duration_days",
        "penalty_ladder[3].measures",
        "penalty_ladder[0].trigger",
    ]


def test_conduct_rules() -> None:
    data = default_data()
    conduct = data["conduct"]
    conduct["recency_weights"][2]["weight"] = "0.75"  # older than the band before, heavier
    conduct["approvers"] = [a for a in conduct["approvers"] if a["measure"] != "TERMINATION"]
    assert problem_paths(data) == ["conduct.recency_weights[2].weight", "conduct.approvers"]
    assert problems_at(data, "conduct.approvers") == [
        "every measure needs its approvers; missing: TERMINATION"]
    data = default_data()
    data["conduct"]["rectification_overdue_violation"] = "NOT_A_TYPE"
    assert problems_at(data, "conduct.rectification_overdue_violation") == [
        "unknown violation type NOT_A_TYPE"]


def test_rules_of_a_list_run_once_its_items_are_well_formed() -> None:
    data = default_data()
    data["violation_types"][1]["code"] = "LATE_PAYMENT"
    data["violation_types"][2]["severity"] = "TERRIBLE"
    assert problem_paths(data) == ["violation_types[2].severity"]
    data["violation_types"][2]["severity"] = "MINOR"
    assert problem_paths(data) == ["violation_types[1].code"]


def test_blacklist_criterion_fields_follow_its_kind() -> None:
    data = default_data()
    criterion = data["blacklist"]["criteria"][1]
    criterion["kind"] = "OVERDUE"
    assert problem_paths(data) == [
        "blacklist.criteria[1].overdue_days_gt",
        "blacklist.criteria[1].min_amount",
        "blacklist.criteria[1].min_severity",
        "blacklist.criteria[1].count",
        "blacklist.criteria[1].window_days",
    ]


def test_blacklist_refers_to_known_violation_types() -> None:
    data = default_data()
    data["blacklist"]["criteria"][2]["violation_codes"] = ["COUNTERFEIT_GOODS", "ARSON"]
    assert problems_at(data, "blacklist.criteria[2].violation_codes[1]") == [
        "unknown violation type ARSON"
    ]


def test_tiers() -> None:
    data = default_data()
    data["classification"]["value_tiers"][3]["min_growth_percent"] = 5
    assert problem_paths(data) == [
        "classification.value_tiers[3].min_growth_percent",
    ]  # the membership tiers: policy/tests/test_membership.py


def test_complaint_slas_lengthen_with_lower_priority() -> None:
    data = default_data()
    data["complaints"]["sla_hours"]["NORMAL"] = 12
    assert problem_paths(data) == ["complaints.sla_hours.NORMAL"]


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("appeals", "window_days", True),
        ("appeals", "window_days", "15"),
        ("appeals", "window_days", 0),
        ("credit", "max_credit_limit", "100.001"),
        ("credit", "max_credit_limit", "-1"),
        ("credit", "tolerance_percent", "NaN"),
        ("credit", "over_limit_action", "hold"),
    ],
)
def test_scalar_types_are_strict(section: str, field: str, value: object) -> None:
    data = default_data()
    data[section][field] = value
    assert problem_paths(data) == [f"{section}.{field}"]


def test_money_and_numbers_have_one_spelling() -> None:
    data = default_data()
    data["credit"]["max_credit_limit"] = 20000000
    data["credit"]["tolerance_percent"] = "5.000"
    policy = PolicyDocument.model_validate(data)
    assert str(policy.credit.max_credit_limit) == "20000000.00"
    assert str(policy.credit.tolerance_percent) == "5"
