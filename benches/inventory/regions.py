"""ISO 3166-1 alpha-2 country codes and the groups a policy may name instead.

Hard-coded on purpose: the policy of a release must not change because a
download did. Update by hand when ISO 3166 or a group's membership changes.
"""

from __future__ import annotations

from benches.inventory.validators import InvalidValue

# The 249 officially assigned ISO 3166-1 alpha-2 codes, plus XK (Kosovo): a
# user-assigned code that the EU and geo databases use, so a destination can be
# placed there and a policy must be able to name it.
_ALPHA2_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
    BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
    DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET
    FI FJ FK FM FO FR
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
    HK HM HN HR HT HU
    ID IE IL IM IN IO IQ IR IS IT
    JE JM JO JP
    KE KG KH KI KM KN KP KR KW KY KZ
    LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
    NA NC NE NF NG NI NL NO NP NR NU NZ
    OM
    PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA
    RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
    TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
    UA UG UM US UY UZ
    VA VC VE VG VI VN VU
    WF WS
    XK
    YE YT
    ZA ZM ZW
"""
ISO_3166_ALPHA2: frozenset[str] = frozenset(_ALPHA2_CODES.split())

# The 27 member states since 1 February 2020 (ISO codes: Greece is GR, not EL).
_EU_CODES = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"
EU: frozenset[str] = frozenset(_EU_CODES.split())
# The EU plus Iceland, Liechtenstein and Norway.
EEA: frozenset[str] = EU | {"IS", "LI", "NO"}

COUNTRY_GROUPS: dict[str, frozenset[str]] = {"EEA": EEA, "EU": EU}


def country_code(text: str) -> str:
    """An ISO 3166-1 alpha-2 code in either case; returns it upper-case."""
    code = text.upper()
    if code not in ISO_3166_ALPHA2:
        raise InvalidValue(f"{text} is not an ISO 3166-1 alpha-2 country code")
    return code


def countries(text: str) -> frozenset[str]:
    """A country code or a group name (EEA, EU), as the set of codes it stands for.

    A group name wins over a code with the same letters: ISO reserves EU, but
    in a policy it means the member states.
    """
    group = COUNTRY_GROUPS.get(text.upper())
    if group is not None:
        return group
    try:
        return frozenset({country_code(text)})
    except InvalidValue:
        groups = ", ".join(sorted(COUNTRY_GROUPS))
        raise InvalidValue(
            f"{text} is neither an ISO 3166-1 alpha-2 country code nor a group ({groups})"
        ) from None
