"""Adding visits four ways (form, CSV upload, command, API), all through one checked
function; a bad CSV row refuses the whole file; API keys hashed, scoped, revocable, audited."""

from __future__ import annotations

import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from screening import db
from screening.models import AuditEvent, Patient, Visit, VisitLink
from screening.visits import records

from .conftest import Clinician, add_user

HEADER = "given_name,family_name,birth_date,starts_at,clinician,external_id,phone\n"


def _count(app, model) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model))


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _rows(n: int, bad: int | None = None) -> str:
    lines = []
    for i in range(n):
        day = 1 + i % 28
        birth = "1970-02-30" if i == bad else f"19{50 + i % 40}-0{1 + i % 9}-{day:02d}"
        at = f"2026-04-{day:02d} {9 + i % 8}:{(i % 4) * 15:02d}"
        lines.append(f"Pat{i},Person{i},{birth},{at},Dr A,B{i},07700 900{i % 1000:03d}")
    return HEADER + "\n".join(lines) + "\n"


@pytest.fixture
def staff(app):
    """A signed-in admin (may use every visits page and the API keys page)."""
    add_user(app, "admin@example.org", role="admin")
    browser = Clinician(app.test_client())
    assert browser.sign_in("admin@example.org").status_code == 302
    return browser


def _upload(staff, text: str, name: str = "visits.csv"):
    token = staff.token("/review/visits/import")
    data = {"csrf_token": token, "file": (io.BytesIO(text.encode()), name)}
    return staff.client.post("/review/visits/import", data=data, content_type="multipart/form-data")


def test_500_rows_with_one_bad_row_import_nothing_and_name_the_row(app, staff):
    response = _upload(staff, _rows(500, bad=321))
    assert response.status_code == 400
    assert "nothing was added" in response.text
    # Line 1 is the header: row 321 (0-based) is on line 323.
    assert "Line 323: Date of birth is not a date" in response.text
    assert response.text.count("Line ") == 1
    assert _count(app, Visit) == _count(app, Patient) == _count(app, VisitLink) == 0
    # The same file, fixed, imports whole, each visit with a link.
    response = _upload(staff, _rows(500))
    assert response.status_code == 200, response.text[:2000]
    assert "500 visits imported" in response.text
    assert len(re.findall(r"/i\?t=[\w.-]+", response.text)) == 500
    assert _count(app, Visit) == _count(app, VisitLink) == 500
    assert [e.detail["rows"] for e in _events(app, "visits_imported")] == [500]


def test_csv_problems_are_each_named(app, staff):
    text = (
        HEADER
        + "Ann,Lee,1980-01-02,2026-04-01 09:00,,B1,\n"
        + ",Lee,1980-01-02,2026-04-01 09:00,,B2,\n"
        + "Bob,Ray,1980-01-02,2026-03-29 01:30,,B3,\n"  # the clocks go forward at 01:00 in London
        + "Cy,Day,1980-01-02,2026-04-01 10:00,,B1,not a phone\n"
    )
    response = _upload(staff, text)
    assert response.status_code == 400
    assert "Line 3: Given name is missing" in response.text
    assert "Line 4: Date and time of the visit does not exist in Europe/London" in response.text
    assert "Line 5: Booking id is the same as on line 2" in response.text or "Line 5: Phone" in response.text
    assert _count(app, Visit) == 0
    unknown = _upload(staff, "name,when\nA,B\n")
    assert "unknown columns: name, when" in unknown.text
    empty = _upload(staff, "")
    assert empty.status_code == 400
    binary = staff.client.post(
        "/review/visits/import",
        data={"csrf_token": staff.token("/review/visits/import"), "file": (io.BytesIO(b"\xff\xfe\x00"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert binary.status_code == 400
    assert "not UTF-8 text" in binary.text, binary.text


def test_the_form_adds_a_visit_and_shows_its_link_once(app, staff):
    page = staff.get("/review/visits/new")
    assert page.status_code == 200
    bad = staff.post("/review/visits/new", {"given_name": "Maria", "family_name": "", "birth_date": "1970-13-01"})
    assert bad.status_code == 400
    assert "Family name is missing" in bad.text
    fields = {
        "given_name": "Maria",
        "family_name": "Smith",
        "birth_date": "1970-03-25",
        "starts_at": "2026-03-03T09:30",  # what a datetime-local box sends
        "clinician": "Dr A",
        "treatment": "acupuncture",
        "phone": "07700 900123",
    }
    made = staff.post("/review/visits/new", fields)
    assert made.status_code == 200
    assert re.search(r"/i\?t=[\w.-]+", made.text)
    # A second visit for the same patient (found by name and date of birth) is a later session.
    later = staff.post("/review/visits/new", fields | {"starts_at": "2026-03-10T09:30"})
    assert later.status_code == 200
    with app.app_context():
        visits = db.session().scalars(select(Visit).order_by(Visit.starts_at)).all()
        assert [v.kind for v in visits] == ["first", "later"]
        assert [v.questionnaire_id for v in visits] == ["acupuncture-low-back-pain", "follow-up"]
        assert visits[0].patient_id == visits[1].patient_id
        # 09:30 in London in March is 09:30 UTC (GMT); stored in UTC.
        assert visits[0].starts_at == dt.datetime(2026, 3, 3, 9, 30, tzinfo=dt.UTC)
    listing = staff.get("/review/visits")
    assert listing.status_code == 200


def test_reissue_and_revoke_from_the_staff_pages(app, staff):
    from .visits_helpers import new_visit, path_of

    made = new_visit(app, at="2099-01-01 09:00")
    visit_id = made.visit.id
    listing = staff.get("/review/visits")
    assert "Maria Smith" in listing.text and "Reissue the link" in listing.text
    reissued = staff.post(f"/review/visits/{visit_id}/link", token=staff.token("/review/visits"))
    assert reissued.status_code == 200
    new_url = re.search(r"(http://[^<\s]+/i\?t=[\w.-]+)", reissued.text).group(1)
    patient = app.test_client()
    assert patient.get(path_of(made.url)).status_code == 404
    assert patient.get(path_of(new_url)).status_code == 303
    revoked = staff.post(f"/review/visits/{visit_id}/revoke", token=staff.token("/review/visits"))
    assert revoked.status_code == 302
    assert app.test_client().get(path_of(new_url)).status_code == 404
    assert len(_events(app, "link_issued")) == 1 and len(_events(app, "link_revoked")) == 1


def test_find_or_create_the_patient(app):
    zone = ZoneInfo("Europe/London")
    today = dt.date(2026, 3, 1)
    base = {"given_name": "Maria", "family_name": "Smith", "birth_date": "1970-03-25", "starts_at": "2026-03-03 09:30"}
    with app.app_context(), db.get_db().transaction() as s:
        first = records.add(s, records.check(base | {"clinic_ref": "P1"}, zone, today))
        # The same reference, another spelling of the name: the same patient.
        again = records.add(
            s,
            records.check(
                base | {"clinic_ref": "P1", "given_name": "María", "starts_at": "2026-03-10 09:30"}, zone, today
            ),
        )
        assert again.visit.patient_id == first.visit.patient_id
        # The same reference with another date of birth is refused.
        with pytest.raises(records.Conflict) as refused:
            records.add(s, records.check(base | {"clinic_ref": "P1", "birth_date": "1971-03-25"}, zone, today))
        assert "clinic_ref" in refused.value.problems
        # No reference: found by name (any case) and date of birth.
        by_name = records.add(
            s, records.check(base | {"given_name": "MARIA", "starts_at": "2026-03-17 09:30"}, zone, today)
        )
        assert by_name.visit.patient_id == first.visit.patient_id
        assert by_name.visit.kind == "later"
        # Another date of birth: another patient.
        other = records.add(s, records.check(base | {"birth_date": "1999-01-01"}, zone, today))
        assert other.visit.patient_id != first.visit.patient_id
        assert other.visit.kind == "first"
    # Problems are named by field: an unknown field first, then every value.
    unknown = records.check({"given_name": "A", "x": 1}, zone, today)
    assert set(unknown) == {"x", "family_name", "birth_date", "starts_at"}
    values = {"given_name": "A", "family_name": "B", "birth_date": "2999-01-01", "starts_at": "soon"}
    problems = records.check(values | {"email": "no", "kind": "third", "given_name": ["A"]}, zone, today)
    assert problems == {"given_name": "must be text"}
    problems = records.check(values | {"email": "no", "kind": "third"}, zone, today)
    assert problems["birth_date"] == "is in the future"
    assert problems["starts_at"].startswith("is not a date and time")
    assert set(problems) == {"birth_date", "starts_at", "email", "kind"}


def test_times_are_read_in_the_clinics_zone_across_the_clock_changes():
    london = ZoneInfo("Europe/London")
    # Last Sunday of March 2026: 01:00-02:00 does not exist in London.
    assert records.parse_starts_at("2026-03-29 01:30", london).startswith("does not exist")
    assert records.parse_starts_at("2026-03-29 02:30", london) == dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)
    # Last Sunday of October 2026: 01:30 happens twice; the first (still summer time) is meant.
    assert records.parse_starts_at("2026-10-25 01:30", london) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)
    assert records.parse_starts_at("2026-10-25 09:30", london) == dt.datetime(2026, 10, 25, 9, 30, tzinfo=dt.UTC)
    # With an offset, the offset wins.
    assert records.parse_starts_at("2026-07-01T09:30:00+02:00", london) == dt.datetime(2026, 7, 1, 7, 30, tzinfo=dt.UTC)
    assert records.parse_starts_at("2026-07-01T09:30:00Z", london) == dt.datetime(2026, 7, 1, 9, 30, tzinfo=dt.UTC)
