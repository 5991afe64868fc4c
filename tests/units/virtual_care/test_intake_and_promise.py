"""The intake's rules (types, required answers, enableWhen, red flags) and the response-time promise,
pure: no database."""

from __future__ import annotations

from datetime import UTC, datetime

from careplane.units.virtual_care import intake, promise
from careplane.units.virtual_care.catalog import shipped

UTI = shipped().get("uti")


def test_a_question_enabled_by_an_earlier_answer_is_required_only_when_enabled():
    base = {
        "dysuria": True,
        "frequency": True,
        "flank_pain": False,
        "vomiting": False,
        "duration_days": 2,
        "last_uti": "never",
        "has_allergies": False,
    }
    answers, errors = intake.check_answers(UTI, {**base, "fever": False}, from_form=False, complete=True)
    assert errors == {} and "temperature" not in answers
    _, errors = intake.check_answers(UTI, {**base, "fever": True}, from_form=False, complete=True)
    assert errors == {"temperature": "Please answer this question."}


def test_an_answer_to_a_question_not_asked_is_dropped():
    answers, errors = intake.check_answers(UTI, {"fever": False, "temperature": 103.0}, from_form=False, complete=False)
    assert errors == {} and answers == {"fever": False}


def test_the_api_refuses_wrong_types_where_a_form_sends_text():
    raw = {"dysuria": "yes", "duration_days": "three", "last_uti": "last week", "nonsense": 1}
    _, errors = intake.check_answers(UTI, raw, from_form=False, complete=False)
    assert errors == {
        "dysuria": "Answer yes or no.",
        "duration_days": "Answer with a whole number.",
        "last_uti": "Choose one of: Never, Within the last 6 months, More than 6 months ago.",
        "nonsense": "The Urinary tract infection questions have no question 'nonsense'.",
    }
    answers, errors = intake.check_answers(
        UTI, {"dysuria": "yes", "duration_days": "3"}, from_form=True, complete=False
    )
    assert errors == {} and answers == {"dysuria": True, "duration_days": 3}


def test_the_most_serious_red_flag_wins():
    assert intake.red_flag(UTI, {"flank_pain": False, "vomiting": False}) is None
    assert intake.red_flag(UTI, {"flank_pain": True}).level == "in_person"
    assert intake.red_flag(UTI, {"flank_pain": True, "vomiting": True}).level == "emergency"
    assert intake.red_flag(UTI, {"fever": True, "temperature": 101.5}).level == "in_person"


def test_the_promise_runs_only_inside_service_hours_in_the_patients_zone():
    # 14:00 in New York (19:00 UTC): due an hour later.
    assert promise.due_by(datetime(2026, 6, 1, 18, 0, tzinfo=UTC), "NY") == datetime(2026, 6, 1, 19, 0, tzinfo=UTC)
    # 21:30 in New York: 30 minutes tonight, 30 tomorrow from 08:00.
    late = promise.due_by(datetime(2026, 6, 2, 1, 30, tzinfo=UTC), "NY")
    assert late.astimezone(promise.zone_of_state("NY")).strftime("%d %H:%M") == "02 08:30"
    # 03:00 in Los Angeles: the full hour from 08:00.
    night = promise.due_by(datetime(2026, 6, 1, 10, 0, tzinfo=UTC), "CA")
    assert night.astimezone(promise.zone_of_state("CA")).strftime("%d %H:%M") == "01 09:00"


def test_a_condition_may_promise_a_faster_or_slower_first_reply():
    from datetime import timedelta

    assert promise.promised_for("covid19") == timedelta(minutes=30)
    assert promise.promised_for("hair_loss") == timedelta(hours=4)
    assert promise.promised_for("uti") == timedelta(hours=1)
    queued = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)  # 14:00 in New York
    assert promise.due_by(queued, "NY", promise.promised_for("covid19")) == datetime(2026, 6, 1, 18, 30, tzinfo=UTC)
