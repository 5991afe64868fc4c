from datetime import date

from careplane.kernel.patients import mrn
from careplane.kernel.patients.models import Patient


def test_check_digit_is_luhn():
    assert mrn.luhn_digit("7992739871") == 3  # the textbook Luhn example
    assert mrn.make_mrn(12345678) == "CP123456782"
    assert mrn.is_valid_mrn("CP123456782")
    assert mrn.is_valid_mrn("cp123456782")


def test_typos_are_caught():
    good = mrn.make_mrn(40213377)
    digits = good[2:]
    for i in range(len(digits)):
        wrong = digits[:i] + str((int(digits[i]) + 1) % 10) + digits[i + 1 :]
        assert not mrn.is_valid_mrn("CP" + wrong)
    swapped = digits[0] + digits[2] + digits[1] + digits[3:]
    if swapped != digits:
        assert not mrn.is_valid_mrn("CP" + swapped)
    assert not mrn.is_valid_mrn("XX123456782")
    assert not mrn.is_valid_mrn("CP12345678")


def test_new_mrns_avoid_ones_in_use(db):
    sequence = iter([5, 5, 7, 9])  # 5 is taken in the database, then repeats within the batch

    def randbelow(_n: int) -> int:
        return next(sequence)

    with db.unit_of_work() as s:
        s.add(
            Patient(
                mrn=mrn.make_mrn(5),
                given_name="A",
                family_name="B",
                given_name_norm="a",
                family_name_norm="b",
                birth_date=date(2000, 1, 1),
                sex_at_birth="male",
            )
        )
    with db.unit_of_work() as s:
        fresh = mrn.new_mrns(s, 2, randbelow=randbelow)
    assert sorted(fresh) == sorted([mrn.make_mrn(7), mrn.make_mrn(9)])
    assert all(mrn.is_valid_mrn(m) for m in fresh)
