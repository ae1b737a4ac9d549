"""The default lead scorer: a transparent weighted model (a fixed one for tests and embedders is
in scoring_fixed.py, the explanation's wording in scoring_words.py).

`WeightedScorer` reads these keys of a lead's raw data; any other key is ignored, and a known key
whose value is JSON `null` (or, for text keys, blank) counts as absent:

- `page_views`, `form_submissions`, `email_opens`, `email_clicks`: whole numbers >= 0 (engagement)
- `time_on_site`: a number >= 0, in seconds (engagement)
- `job_title`: text, read as a seniority by keyword rules (`_TITLE_RULES`: "founder|owner" is
  owner, "CEO|CTO|chief|president|managing director" c_level, "VP|vice president" vp,
  "director|head of" director, "manager|team lead" manager, "senior|lead|principal" senior,
  "junior|associate|assistant" entry, "intern|trainee|student" intern; the most senior that
  matches, case-insensitive; "assistant to ..." is entry) (demographic)
- `seniority`: one of SENIORITIES (case-insensitive, `c-level` is `c_level`); overrides the title
- `company_size`: a whole number >= 0 of employees (demographic)
- `industry`: text, compared ignoring case and spacing (demographic)
- `country`: an ISO 3166 two-letter code, any case (demographic)
- `last_activity_at`: an ISO 8601 date-time of at most 64 characters (no zone: UTC; a date alone:
  its midnight; the future counts as now), or `days_since_last_activity`: a number >= 0
  (behaviour: recency)
- `pricing_page_views`: a whole number >= 0; `demo_requested`: true or false (behaviour: intent)

A whole number may be written `3` or `3.0`; booleans are not numbers; NaN and infinities are
refused. A known key with a value of the wrong type or range raises one
`InvalidInput({"raw_data.<key>": "must be ..."})` naming every such key at once. `source` is not
used by this model.

The model (every tunable is a class constant of `WeightedScorer`):

- engagement: points from saturating curves, `sat(x, k) = 1 - k / (x + k)` (0 at 0, 1/2 at `k`,
  towards 1; no division by zero since k > 0), capped at 1: page views (0.30 points, k = 5), time
  on site (0.25, k = 180 s), form submissions (0.40, k = 1), email opens (0.15, k = 3), email
  clicks (0.20, k = 1). The points add up to 1.3, so strong signals of a few kinds fill the
  component (a lead with no email data can still be fully engaged). A missing count is 0.
- demographic fit against the client's `IdealCustomer`: seniority (share 0.35), company size
  (0.25), industry (0.25), country (0.15). A match counts 1 and a miss 0; a factor the lead does not
  give, or one whose list in the settings is empty (industries, countries, seniorities), counts as
  neutral, 0.5. Company size inside [min, max] is 1; outside it is the ratio size / min (below) or
  max / size (above), so 5 employees against a minimum of 10 is 0.5. A job title maps to the first
  seniority (most senior first) whose keywords it contains (`_TITLE_RULES`); a title that matches
  none gives no seniority (neutral).
- behaviour: points capped at 1 likewise: recency (0.55 points) `H / (H + days)` with H = 14 days
  (1 today, 1/2 after two weeks; 0 when no activity time is given: no evidence of activity earns
  nothing); pricing-page views (0.30, `sat(x, 1)`); a demo request (0.45, all or nothing). With
  both `last_activity_at` and `days_since_last_activity`, the more recent one counts.
- score: the components' mean weighted by `settings.weights.normalised()` (a zero weight removes
  a component exactly), clamped to [0, 1].

Every curve is computed with operations that are monotonic in floating point, so more of a positive
signal (more page views, a demo request, a more recent activity) never lowers any component or the
score. Counts are capped at 10**15 before they become floats, so 10**400 page views are fine.

The explanation lists at most three factors by how far each moved the score: a factor's effect is
its weight in the score (the component's normalised weight x the factor's points or share) times
its value less a reference (0 for the engagement counts, pricing views and the demo request; the
neutral 0.5 for the demographic factors and for recency, so a stale lead reads "no activity for
90 days"). Factors
with no effect (a zero-weighted component's, say) are not listed; ties go by the order above; with
none at all it says "no engagement or fit signals".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from catalyst_adapters.scoring_signals import (
    _AMOUNT,
    _BIG,
    _BIG_INT,
    _BOOL,
    _CACHED_TEXT,
    _COUNTRY,
    _DAY_SECONDS,
    _SENIORITY,
    _SENIORITY_WORDS,
    _TEXT,
    _WHEN,
    _WHOLE,
    _amount,
    _count,
    _seconds,
    _whole,
    seniority_of,
)
from catalyst_adapters.scoring_words import (
    _CLICKS,
    _COUNTRY_F,
    _DEMO,
    _FORMS,
    _INDUSTRY,
    _OPENS,
    _PAGE_VIEWS,
    _PRICING,
    _RECENCY,
    _SENIORITY_F,
    _SIZE,
    _TIME,
    _say,
)
from catalyst_core.errors import InvalidInput
from catalyst_core.leads.model import COMPONENTS, ScoringSettings
from catalyst_core.ports import ScoreResult


class _Compiled:
    """What the scorer needs of one ScoringSettings (and the scorer's class constants), computed
    once per settings object, with the phrases said so far under these settings."""

    __slots__ = ("countries", "curves", "effects", "industries", "neutral", "seniorities",
                 "size_max", "size_min", "size_text", "texts", "weights")

    def __init__(self, settings: ScoringSettings, s: type[WeightedScorer]) -> None:
        given = [getattr(settings.weights, name) for name in COMPONENTS]
        if all(math.isfinite(x) and x >= 0 for x in given) and sum(given) > 0:
            normalised = settings.weights.normalised()
            we, wd, wb = (float(normalised[name]) for name in COMPONENTS)
        else:  # the settings parser refuses these; an embedder's own might not: a plain mean
            we = wd = wb = 1 / 3
        self.weights = (we, wd, wb)
        # (share in the component, half-saturation) of each curve, in the order score() reads them.
        self.curves = (*s.PAGE_VIEWS, *s.TIME_ON_SITE, *s.FORM_SUBMISSIONS, *s.EMAIL_OPENS,
                       *s.EMAIL_CLICKS, s.SENIORITY_SHARE, s.COMPANY_SIZE_SHARE, s.INDUSTRY_SHARE,
                       s.COUNTRY_SHARE, *s.RECENCY, *s.PRICING_PAGE_VIEWS, s.DEMO_SHARE)
        # Each factor's share of the score: the component's weight times the factor's share in it.
        self.effects = (
            we * s.PAGE_VIEWS[0], we * s.TIME_ON_SITE[0], we * s.FORM_SUBMISSIONS[0],
            we * s.EMAIL_OPENS[0], we * s.EMAIL_CLICKS[0],
            wd * s.SENIORITY_SHARE, wd * s.COMPANY_SIZE_SHARE, wd * s.INDUSTRY_SHARE,
            wd * s.COUNTRY_SHARE,
            wb * s.RECENCY[0], wb * s.PRICING_PAGE_VIEWS[0], wb * s.DEMO_SHARE)
        self.neutral = s.NEUTRAL
        ideal = settings.ideal_customer
        self.seniorities = frozenset(x.strip().lower() for x in ideal.seniorities)
        self.size_min, self.size_max = ideal.company_size_min, ideal.company_size_max
        self.size_text = f"{ideal.company_size_min:,} to {ideal.company_size_max:,} employees"
        self.industries = frozenset(" ".join(x.split()).lower() for x in ideal.industries)
        self.countries = frozenset(x.strip().upper() for x in ideal.countries)
        self.texts: list[dict[Any, str]] = [{} for _ in range(12)]


class WeightedScorer:
    """The default Scorer: a transparent weighted model (the module's docstring is its spec).
    Pure, deterministic, thread-safe; no constructor arguments. It remembers the last settings
    object it compiled, the seniority of job titles and the phrases it said (bounded caches)."""

    # Engagement: (points at full saturation, half-saturation k of `1 - k / (x + k)`). The points
    # add up to more than 1 and the component is capped at 1: strong signals of a few kinds fill
    # it (a lead with no email data can still be fully engaged).
    PAGE_VIEWS = (0.30, 5.0)
    TIME_ON_SITE = (0.25, 180.0)  # seconds
    FORM_SUBMISSIONS = (0.40, 1.0)
    EMAIL_OPENS = (0.15, 3.0)
    EMAIL_CLICKS = (0.20, 1.0)
    # Demographic shares (they add up to 1); a factor not given or not configured counts NEUTRAL.
    SENIORITY_SHARE = 0.35
    COMPANY_SIZE_SHARE = 0.25
    INDUSTRY_SHARE = 0.25
    COUNTRY_SHARE = 0.15
    NEUTRAL = 0.5
    # Behaviour, points capped at 1 as engagement: recency (points, days at which it is one half),
    # pricing-page views (points, k), a demo request (points).
    RECENCY = (0.55, 14.0)
    PRICING_PAGE_VIEWS = (0.30, 1.0)
    DEMO_SHARE = 0.45
    MAX_EXPLANATION = 3
    NO_SIGNALS = "no engagement or fit signals"
    CACHE_SIZE = 4_096  # job titles, and phrases of each factor

    def __init__(self) -> None:
        self._last: tuple[ScoringSettings, _Compiled] | None = None
        self._titles: dict[str, str | None] = {}

    def _compile(self, settings: ScoringSettings) -> _Compiled:
        compiled = _Compiled(settings, type(self))
        self._last = (settings, compiled)  # one assignment: safe beside other threads
        return compiled

    def _seniority_of(self, title: str) -> str | None:
        titles = self._titles
        seniority = titles.get(title, "")
        if seniority == "":
            seniority = seniority_of(title)
            if len(title) <= _CACHED_TEXT:
                if len(titles) >= self.CACHE_SIZE:
                    titles.clear()
                titles[title] = seniority
        return seniority

    def score(self, raw_data: Mapping[str, Any], settings: ScoringSettings, *, now: datetime,
              source: str | None = None) -> ScoreResult:
        last = self._last
        c = last[1] if last is not None and last[0] is settings else self._compile(settings)
        get = raw_data.get
        bad: dict[str, str] = {}

        # -- read and check the known keys (the common case inline; the rest in _whole/_amount) ---
        page_views = _count(get("page_views"), "raw_data.page_views", bad)
        time_on_site = _seconds(get("time_on_site"), "raw_data.time_on_site", bad)
        forms = _count(get("form_submissions"), "raw_data.form_submissions", bad)
        opens = _count(get("email_opens"), "raw_data.email_opens", bad)
        clicks = _count(get("email_clicks"), "raw_data.email_clicks", bad)
        pricing = _count(get("pricing_page_views"), "raw_data.pricing_page_views", bad)
        demo = get("demo_requested")
        if demo is not None and demo is not True and demo is not False:
            bad["raw_data.demo_requested"], demo = _BOOL, None

        seniority: str | None = None
        from_title = True
        v = get("seniority")
        if v is not None:
            if not isinstance(v, str):
                bad["raw_data.seniority"] = _SENIORITY
            elif word := v.strip().lower():
                seniority = _SENIORITY_WORDS.get(word)
                if seniority is None:
                    bad["raw_data.seniority"] = _SENIORITY
                from_title = False
        v = get("job_title")
        if v is not None:
            if not isinstance(v, str):
                bad["raw_data.job_title"] = _TEXT
            elif from_title and v:
                seniority = self._seniority_of(v)
        v = get("company_size")
        size: float | None = None
        if v is not None:
            if v.__class__ is int and 0 <= v < _BIG_INT:
                size = v
            elif (size := _whole(v)) is None:
                bad["raw_data.company_size"] = _WHOLE
        v = get("industry")
        industry: str | None = None
        if v is not None:
            if not isinstance(v, str):
                bad["raw_data.industry"] = _TEXT
            else:
                industry = " ".join(v.split()) or None
        v = get("country")
        country: str | None = None
        if v is not None:
            if not isinstance(v, str):
                bad["raw_data.country"] = _COUNTRY
            elif code := v.strip():
                if len(code) == 2 and code.isascii() and code.isalpha():
                    country = code.upper()
                else:
                    bad["raw_data.country"] = _COUNTRY

        days: float | None = None
        v = get("last_activity_at")
        if v is not None:
            days = self._days_since(v, now)
            if days is None:
                bad["raw_data.last_activity_at"] = _WHEN
        v = get("days_since_last_activity")
        if v is not None:
            if (v.__class__ is float or v.__class__ is int) and 0 <= v < _BIG:
                x: float | None = v
            elif (x := _amount(v)) is None:
                bad["raw_data.days_since_last_activity"] = _AMOUNT
            if x is not None and (days is None or x < days):
                days = x
        if bad:
            raise InvalidInput(bad)

        # -- the factors' values in [0, 1], and the components -----------------------------------
        (s_views, k_views, s_time, k_time, s_forms, k_forms, s_opens, k_opens, s_clicks, k_clicks,
         s_seniority, s_size, s_industry, s_country, s_recency, half_life, s_pricing, k_pricing,
         s_demo) = c.curves
        f_views = 1.0 - k_views / (page_views + k_views)
        f_time = 1.0 - k_time / (time_on_site + k_time)
        f_forms = 1.0 - k_forms / (forms + k_forms)
        f_opens = 1.0 - k_opens / (opens + k_opens)
        f_clicks = 1.0 - k_clicks / (clicks + k_clicks)
        engagement = (s_views * f_views + s_time * f_time + s_forms * f_forms + s_opens * f_opens
                      + s_clicks * f_clicks)

        neutral = c.neutral
        if seniority is None or not c.seniorities:
            f_seniority = neutral
        else:
            f_seniority = 1.0 if seniority in c.seniorities else 0.0
        if size is None:
            f_size = neutral
        elif size < c.size_min:
            f_size = size / c.size_min
        elif size > c.size_max:
            f_size = c.size_max / size
        else:
            f_size = 1.0
        if industry is None or not c.industries:
            f_industry = neutral
        else:
            f_industry = 1.0 if industry.lower() in c.industries else 0.0
        if country is None or not c.countries:
            f_country = neutral
        else:
            f_country = 1.0 if country in c.countries else 0.0
        demographic = (s_seniority * f_seniority + s_size * f_size + s_industry * f_industry
                       + s_country * f_country)

        f_recency = 0.0 if days is None else half_life / (half_life + days)
        f_pricing = 1.0 - k_pricing / (pricing + k_pricing)
        behavioral = s_recency * f_recency + s_pricing * f_pricing + (s_demo if demo else 0.0)

        # Engagement and behaviour points are capped at 1; the demographic shares add up to 1, but a
        # sum of rounded products may pass it by an ulp.
        engagement = engagement if engagement < 1.0 else 1.0
        demographic = demographic if demographic < 1.0 else 1.0
        behavioral = behavioral if behavioral < 1.0 else 1.0
        we, wd, wb = c.weights
        score = we * engagement + wd * demographic + wb * behavioral
        score = score if score < 1.0 else 1.0

        # -- the explanation: the factors that moved the score most ----------------------------
        (e_views, e_time, e_forms, e_opens, e_clicks, e_seniority, e_size, e_industry, e_country,
         e_recency, e_pricing, e_demo) = c.effects
        moved: list[tuple[float, int, Any]] = []
        if page_views and (e := e_views * f_views):
            moved.append((-e, _PAGE_VIEWS, page_views))
        if time_on_site and (e := e_time * f_time):
            moved.append((-e, _TIME, time_on_site))
        if forms and (e := e_forms * f_forms):
            moved.append((-e, _FORMS, forms))
        if opens and (e := e_opens * f_opens):
            moved.append((-e, _OPENS, opens))
        if clicks and (e := e_clicks * f_clicks):
            moved.append((-e, _CLICKS, clicks))
        if e := e_seniority * (f_seniority - neutral):
            moved.append((-abs(e), _SENIORITY_F, (seniority, from_title)))
        if e := e_size * (f_size - neutral):
            moved.append((-abs(e), _SIZE, size))
        if e := e_industry * (f_industry - neutral):
            moved.append((-abs(e), _INDUSTRY, industry))
        if e := e_country * (f_country - neutral):
            moved.append((-abs(e), _COUNTRY_F, country))
        if days is not None and (e := e_recency * (f_recency - 0.5)):
            moved.append((-abs(e), _RECENCY, int(days)))
        if pricing and (e := e_pricing * f_pricing):
            moved.append((-e, _PRICING, pricing))
        if demo and e_demo:
            moved.append((-e_demo, _DEMO, True))
        if moved:
            moved.sort()
            texts = c.texts
            explanation = []
            for _, factor, key in moved[:self.MAX_EXPLANATION]:
                said = texts[factor]
                text = said.get(key)
                if text is None:
                    text = _say(factor, key, c)
                    if not (key.__class__ is str and len(key) > _CACHED_TEXT):
                        if len(said) >= self.CACHE_SIZE:
                            said.clear()
                        said[key] = text
                explanation.append(text)
        else:
            explanation = [self.NO_SIGNALS]
        return ScoreResult(score, {"engagement": engagement, "demographic": demographic,
                                   "behavioral": behavioral}, explanation)

    @staticmethod
    def _days_since(value: Any, now: datetime) -> float | None:
        """Days from an ISO 8601 date-time to `now` (0 for the future), or None when not one."""
        if not isinstance(value, str) or not 0 < len(value) <= 64:
            return None
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            try:
                when = datetime.fromisoformat(value.strip())
            except ValueError:
                return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        try:
            seconds = (now - when).total_seconds()
        except OverflowError:  # an offset pushed it past year 1 or 9999
            seconds = _BIG if when.year < now.year else 0.0
        return seconds / _DAY_SECONDS if seconds > 0 else 0.0
