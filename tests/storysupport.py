"""Articles for the story tests: written for them (no corpus text), in the shapes real coverage takes.

- ``SCRIBES_*``: one randomised trial written up independently by a journal-news site, a trade
  magazine and a business outlet (different words, the same trial, sums and names);
- ``COPY_*``: one law-firm article syndicated on a second site inside other boilerplate;
- ``BREACH_*``: two different breaches at two hospitals, told in the words every breach story uses;
- ``RANSOMWARE`` and ``WATCH``: two articles from one outlet on one day, one beat, two stories.
"""

from __future__ import annotations

from datetime import date

from medcurate.dedupe import signature
from medcurate.stories.features import StoryDoc, make_doc

SCRIBES_JOURNAL = (
    "Scribes raise emergency physicians' productivity, multicentre trial finds",
    "A randomised trial at five emergency departments in Victoria, Australia, found that medical scribes "
    "increased the number of patients emergency physicians saw per hour by 15.9 percent. The study, "
    "published in the Annals of Emergency Medicine by Katherine Walker of Cabrini Health, followed 88 "
    "physicians over 12 months. Scribes took over documentation in the electronic medical record, so "
    "doctors spent more time with patients, and the length of stay in the emergency department fell. A cost "
    "analysis found each scribe saved the hospital about $23,000 a year.",
)
SCRIBES_TRADE = (
    "Scribes save doctors time and hospitals money, new study finds",
    "Medical scribes pay for themselves, according to a study in the Annals of Emergency Medicine. "
    "Researchers led by Katherine Walker at Cabrini Health in Australia randomly assigned scribes to "
    "emergency physicians and found productivity rose 15.9 percent, with shorter emergency department "
    "stays. Hospitals saved about $23,000 per scribe each year, the authors said, because physicians saw "
    "more patients instead of typing notes into the EHR.",
)
SCRIBES_BUSINESS = (
    "Hiring scribes lets ER doctors see more patients, Australian trial shows",
    "Emergency rooms that hire scribes to handle record keeping see more patients, a trial reported in the "
    "Annals of Emergency Medicine shows. Doctors working with a scribe treated 15.9 percent more patients "
    "an hour across the five Victoria hospitals studied by Cabrini Health's Katherine Walker, and each "
    "scribe was worth roughly $23,000 a year to the hospital once the extra throughput was counted.",
)
COPY_BODY = (
    "On February 5, the OIG issued Advisory Opinion 19-02, approving a pharmaceutical manufacturer's plan to "
    "give free smartphones to financially needy patients so that they can use an adherence app with "
    "their hepatitis C medication. The OIG concluded that although the arrangement could generate "
    "prohibited remuneration under the anti-kickback statute, it would not impose sanctions, because the "
    "smartphones are locked down, limited to patients who cannot afford one, and must be returned when "
    "treatment ends. Digital health companies and manufacturers weighing similar programmes should read "
    "the opinion's safeguards closely: the phone may only run the app, capture adherence data and call "
    "the patient's doctor, and the manufacturer may not advertise the programme."
)
COPY_LAW_FIRM = ("OIG greenlights digital health program offering free smartphones to patients", COPY_BODY)
COPY_BLOG = (
    "OIG Greenlights Digital Health Program Offering Free Smartphones to Patients",
    "Health Care Law Today | Posted by the firm's health care practice. "
    + COPY_BODY
    + " Subscribe to our newsletter. Related posts: telemedicine rules in Massachusetts.",
)
BREACH_ONE = (
    "Hacking incident at Riverside Memorial Hospital exposes data of 412,000 patients",
    "Riverside Memorial Hospital in Ohio has notified 412,000 patients that hackers gained access to an "
    "email system containing names, dates of birth, Social Security numbers and medical record numbers. "
    "The breach, reported to the HHS Office for Civil Rights, began when an employee fell for a phishing "
    "email in October. The hospital said it has reset passwords, enabled multifactor authentication and "
    "is offering affected patients 12 months of credit monitoring. It is the largest health data breach "
    "reported in Ohio this year.",
)
BREACH_TWO = (
    "Data breach at St. Agnes Medical Center affects 38,000 patients",
    "St. Agnes Medical Center in Oregon is notifying 38,000 patients that their protected health information "
    "may have been exposed after an unauthorised person accessed a billing vendor's server. The breach "
    "report filed with the HHS Office for Civil Rights says names, addresses, dates of birth and insurance "
    "details were involved. The medical center has offered patients 24 months of credit monitoring and says "
    "it is reviewing its vendor contracts, security controls and multifactor authentication.",
)
RANSOMWARE = (
    "Ransomware attack forces Lakeshore Health to divert ambulances",
    "Lakeshore Health diverted ambulances from its three hospitals on Monday after a ransomware attack "
    "encrypted its electronic health record system. Clinicians returned to paper charts while the health "
    "system worked with the FBI and an incident response firm. Lakeshore Health said no ransom had been "
    "paid and that patient care continued safely.",
)
WATCH = (
    "Apple Watch study finds irregular heart rhythm alerts prompt doctor visits",
    "Apple Watch owners who received an irregular heart rhythm notification were likely to contact a "
    "doctor, according to results from the Apple Heart Study presented by Stanford Medicine. Of 419,297 "
    "participants, 0.5 percent received a notification, and atrial fibrillation was confirmed in a third "
    "of those who returned an ECG patch.",
)


def story_doc(
    item_id: int, article: tuple[str, str], *, brand: str, day: date, identifiers: tuple[str, ...] = ()
) -> StoryDoc:
    """A :class:`StoryDoc` of a test article, with its MinHash signature (the embedding comes later)."""
    title, text = article
    return make_doc(
        item_id=item_id,
        url=f"https://{brand}/articles/{item_id}",
        title=title,
        description="",
        text=text,
        day=day,
        brand=brand,
        identifiers=identifiers,
        signature=signature(text),
    )
