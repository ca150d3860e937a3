"""Enumerated code lists shared by the API and the events; each value is documented in the OpenAPI schema."""

from __future__ import annotations

from enum import StrEnum


class RiskGrade(StrEnum):
    """Police risk grades; legacy `absent` (pre-2017) is stored as given and read as no apparent risk."""

    NO_APPARENT_RISK = "no_apparent_risk"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    ABSENT = "absent"

    @property
    def mapped(self) -> RiskGrade:
        """The current-practice grade: legacy `absent` maps to `no_apparent_risk`."""
        return RiskGrade.NO_APPARENT_RISK if self is RiskGrade.ABSENT else self


class Classification(StrEnum):
    """The classifier's decision."""

    MISSING = "missing"
    ABSENT = "absent"


class Sex(StrEnum):
    """Sex as recorded by the police."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class PlacementType(StrEnum):
    """Where a looked-after child lives."""

    FOSTER_CARE = "foster_care"
    KINSHIP_CARE = "kinship_care"
    CHILDRENS_HOME = "childrens_home"
    SEMI_INDEPENDENT = "semi_independent"
    SECURE_UNIT = "secure_unit"
    RESIDENTIAL_SCHOOL = "residential_school"
    PLACED_WITH_PARENTS = "placed_with_parents"
    OTHER = "other"


class WarningMarker(StrEnum):
    """Standing warning markers on the child's police record."""

    CSE = "cse"  # child sexual exploitation
    CCE = "cce"  # child criminal exploitation
    COUNTY_LINES = "county_lines"
    TRAFFICKING = "trafficking"
    MODERN_SLAVERY = "modern_slavery"
    SELF_HARM = "self_harm"
    SUICIDE_RISK = "suicide_risk"
    MENTAL_HEALTH = "mental_health"
    SUBSTANCE_MISUSE = "substance_misuse"
    GANG_ASSOCIATION = "gang_association"
    WEAPONS = "weapons"
    VIOLENCE = "violence"
    LEARNING_DISABILITY = "learning_disability"
    MEDICAL_CONDITION = "medical_condition"


EXPLOITATION_MARKERS = frozenset(
    {
        WarningMarker.CSE,
        WarningMarker.CCE,
        WarningMarker.COUNTY_LINES,
        WarningMarker.TRAFFICKING,
        WarningMarker.MODERN_SLAVERY,
    }
)


class RiskFactor(StrEnum):
    """Circumstances of this episode that the police recorded."""

    OUT_OF_CHARACTER = "out_of_character"
    SUSPECTED_CRIME_VICTIM = "suspected_crime_victim"
    EXPLOITATION_CONCERN = "exploitation_concern"
    SELF_HARM_OR_SUICIDE_RISK = "self_harm_or_suicide_risk"
    MENTAL_HEALTH_NEED = "mental_health_need"
    SUBSTANCE_MISUSE = "substance_misuse"
    MEDICAL_NEED = "medical_need"
    WITH_UNKNOWN_ADULT = "with_unknown_adult"
    DOMESTIC_ABUSE = "domestic_abuse"
    BULLYING = "bullying"
    ADVERSE_WEATHER = "adverse_weather"


class ReporterType(StrEnum):
    """Who reported the child missing."""

    PARENT_OR_CARER = "parent_or_carer"
    FOSTER_CARER = "foster_carer"
    CHILDRENS_HOME = "childrens_home"
    SCHOOL = "school"
    SOCIAL_WORKER = "social_worker"
    POLICE = "police"
    OTHER = "other"


class UpdateKind(StrEnum):
    """Why an episode was updated."""

    REGRADE = "regrade"
    NEW_INFORMATION = "new_information"
    CORRECTION = "correction"


class ReturnedBy(StrEnum):
    """How the child came back."""

    SELF = "self"
    FOUND_BY_POLICE = "found_by_police"
    FOUND_BY_FAMILY_OR_CARER = "found_by_family_or_carer"
    FOUND_BY_OTHER = "found_by_other"


class CancelReason(StrEnum):
    """Why an episode was cancelled."""

    REPORTED_IN_ERROR = "reported_in_error"
    DUPLICATE = "duplicate"
    NOT_A_CHILD = "not_a_child"


class PushFactor(StrEnum):
    """What pushed the child away, as recorded in a return home interview."""

    FAMILY_CONFLICT = "family_conflict"
    PLACEMENT_UNHAPPY = "placement_unhappy"
    RULES_AND_BOUNDARIES = "rules_and_boundaries"
    ABUSE_OR_NEGLECT = "abuse_or_neglect"
    DOMESTIC_ABUSE = "domestic_abuse"
    BULLYING = "bullying"
    SCHOOL_PROBLEMS = "school_problems"
    MENTAL_HEALTH = "mental_health"
    BEREAVEMENT_OR_LOSS = "bereavement_or_loss"
    BOREDOM = "boredom"
    OTHER = "other"


class PullFactor(StrEnum):
    """What drew the child away, as recorded in a return home interview."""

    OLDER_ADULTS = "older_adults"
    PEERS = "peers"
    BOYFRIEND_OR_GIRLFRIEND = "boyfriend_or_girlfriend"
    FAMILY_OR_FRIENDS_ELSEWHERE = "family_or_friends_elsewhere"
    GIFTS_OR_MONEY = "gifts_or_money"
    ALCOHOL_OR_DRUGS = "alcohol_or_drugs"
    GANGS = "gangs"
    ONLINE_CONTACT = "online_contact"
    PARTIES = "parties"
    OTHER = "other"


class ExploitationIndicator(StrEnum):
    """Exploitation indicators found in a return home interview."""

    CSE = "cse"  # child sexual exploitation
    CCE = "cce"  # child criminal exploitation
    DRUGS = "drugs"  # drug supply or use linked to exploitation
    COUNTY_LINES = "county_lines"
    TRAFFICKING = "trafficking"
    MODERN_SLAVERY = "modern_slavery"
    RADICALISATION = "radicalisation"


class PlaceType(StrEnum):
    """Where the child went while missing."""

    ADDRESS = "address"
    FLAT_OR_HOUSE = "flat_or_house"
    HOTEL = "hotel"
    PARK_OR_STREET = "park_or_street"
    TRANSPORT_HUB = "transport_hub"
    SHOP_OR_TAKEAWAY = "shop_or_takeaway"
    OTHER_TOWN = "other_town"
    OTHER = "other"


class TransportMode(StrEnum):
    """How the child travelled while missing."""

    WALKED = "walked"
    BUS = "bus"
    TRAIN = "train"
    TAXI = "taxi"
    CAR_WITH_ADULT = "car_with_adult"
    CYCLE = "cycle"
    OTHER = "other"


class NotOfferedReason(StrEnum):
    """Why a manager decided not to offer a return home interview (the free-text reason says more)."""

    RECENT_INTERVIEW_COVERS = "recent_interview_covers"  # an interview after an earlier episode covers this one
    PROFESSIONAL_ALREADY_WORKING = "professional_already_working"  # a trusted worker is already doing this work
    WHEREABOUTS_KNOWN_THROUGHOUT = "whereabouts_known_throughout"
    CHILD_MOVED_AWAY = "child_moved_away"
    CHILD_IN_CUSTODY = "child_in_custody"
    OTHER = "other"
