"""A small, realistic cohort for the demo and the end-to-end test."""

from __future__ import annotations

from typing import Any

WORKDAYS = range(5)


def _hours(start: str, end: str) -> list[dict[str, Any]]:
    return [{"weekday": d, "start": start, "end": end} for d in WORKDAYS]


COHORT: dict[str, Any] = {
    "name": "Global Reverse Mentoring 2027 — Wave 1",
    "regions": ["EMEA", "AMER", "APAC"],
    "hr_contact_email": "mentoring-hr@bridge.example",
    "enrolment_opens": "2027-01-04",
    "enrolment_closes": "2027-01-22",
    "matching_date": "2027-01-25",
    "programme_start": "2027-02-01",
    "programme_end": "2027-07-30",
}


def _p(emp: str, name: str, role: str, level: int, dept: str, region: str, tz: str, langs: list[str],
       share: list[str], learn: list[str], hours: tuple[str, str], manager: str | None = None,
       locale: str = "en") -> dict[str, Any]:
    return {
        "employee_id": emp, "display_name": name, "email": f"{emp.lower()}@bridge.example", "role": role,
        "seniority_level": level, "department": dept, "manager_employee_id": manager, "region": region,
        "timezone": tz, "languages": langs, "locale": locale, "availability": _hours(*hours),
        "skills_to_share": share, "skills_to_learn": learn,
    }


PARTICIPANTS: list[dict[str, Any]] = [
    # Senior leaders (mentees): they learn digital skills, they share career and business advice.
    _p("E1001", "Margarethe Vogel", "mentee", 11, "Finance", "EMEA", "Europe/Berlin", ["de", "en"],
       ["strategy", "stakeholder management"], ["generative ai", "social media"], ("08:00", "17:00"),
       locale="de"),
    _p("E1002", "Richard Okafor", "mentee", 10, "Operations", "EMEA", "Europe/London", ["en"],
       ["negotiation", "leadership"], ["data storytelling", "hybrid work"], ("09:00", "17:30")),
    _p("E1003", "Hiroshi Tanaka", "mentee", 11, "Manufacturing", "APAC", "Asia/Tokyo", ["ja", "en"],
       ["operations excellence", "leadership"], ["generative ai", "collaboration tools"], ("09:00", "18:00"),
       locale="ja"),
    _p("E1004", "Catherine Dubois", "mentee", 9, "Marketing", "EMEA", "Europe/Paris", ["fr", "en"],
       ["brand strategy", "public speaking"], ["social media", "tiktok"], ("09:00", "18:00"), locale="fr"),
    _p("E1005", "Daniel Reyes", "mentee", 10, "Sales", "AMER", "America/New_York", ["en", "es"],
       ["negotiation", "executive presence"], ["data storytelling", "generative ai"], ("08:30", "17:00")),
    # Junior employees (reverse mentors): they share digital skills, they learn leadership.
    _p("E2001", "Lena Hoffmann", "mentor", 3, "Engineering", "EMEA", "Europe/Berlin", ["de", "en"],
       ["generative ai", "collaboration tools"], ["strategy", "stakeholder management"], ("09:00", "18:00")),
    _p("E2002", "Amara Nwosu", "mentor", 2, "Marketing", "EMEA", "Europe/London", ["en"],
       ["social media", "tiktok", "data storytelling"], ["leadership", "negotiation"], ("10:00", "18:00"),
       manager="E1004"),
    _p("E2003", "Yuki Sato", "mentor", 3, "IT", "APAC", "Asia/Tokyo", ["ja", "en"],
       ["generative ai", "collaboration tools"], ["leadership"], ("10:00", "19:00"), locale="ja"),
    _p("E2004", "Sofia Martínez", "mentor", 2, "Analytics", "AMER", "America/New_York", ["es", "en"],
       ["data storytelling", "hybrid work"], ["executive presence", "negotiation"], ("09:00", "17:00"),
       locale="es"),
    _p("E2005", "Noah Schmidt", "mentor", 3, "Digital", "EMEA", "Europe/Berlin", ["de", "en", "fr"],
       ["social media", "generative ai"], ["brand strategy", "public speaking"], ("08:00", "16:00")),
]
