"""SurveyMonkey: the question's choices from /v3/surveys/{id}/details map choice_id to 0-10,
then /v3/surveys/{id}/responses/bulk pages until links.next is absent. Bearer token."""

from __future__ import annotations

from cxcheck.runtime.times import TimeParser, iso_time
from cxcheck.sources.base import ApiSource, ConfigError, SourceError
from cxcheck.sources.rows import Rejects, dated
from cxcheck.sources.scores import NPS_SCALE, Scale, parse_score

PER_PAGE = 100


class SurveyMonkey(ApiSource):
    name = "SurveyMonkey"
    option, metavar = "--surveymonkey", "SURVEY_ID"
    help = "a SurveyMonkey survey (with --question-id)"
    default_api = "https://api.surveymonkey.com"

    @classmethod
    def add_arguments(cls, options):
        options.add("--question-id", metavar="QID", help="--surveymonkey: the rating or NPS question")

    def __init__(self, value, run):
        super().__init__(value, run)
        if not self.args.question_id:
            raise ConfigError("--surveymonkey needs --question-id (the survey question)")

    def read_responses(self, scale: Scale, since: float, until: float, rejects: Rejects):
        return read(self.client, rejects, self.value, self.args.question_id, since, until, scale)


def choice_scores(client, survey_id: str, question_id: str, scale: Scale = NPS_SCALE) -> dict[str, int]:
    details = client.get_json(client.url(f"/v3/surveys/{survey_id}/details"), what="survey details")
    if not isinstance(details, dict):
        raise client.unexpected("survey details")
    for page in details.get("pages") or []:
        for question in (page or {}).get("questions") or []:
            if str(question.get("id")) != str(question_id):
                continue
            choices = ((question.get("answers") or {}).get("choices")) or []
            scores = {}
            for choice in choices:
                # A rating question's choices read their scores (0..10 for NPS); failing that, their
                # position 1.. counts up from the scale's low end.
                score = parse_score(choice.get("text"), scale)
                position = choice.get("position")
                if score is None and isinstance(position, int) and not isinstance(position, bool):
                    score = scale.low + position - 1 if 1 <= position <= scale.high - scale.low + 1 else None
                if score is not None:
                    scores[str(choice.get("id"))] = score
            if not scores:
                raise SourceError(f"SurveyMonkey question {question_id} has no {scale} choices")
            return scores
    raise SourceError(f"SurveyMonkey survey {survey_id} has no question {question_id}")


def read(client, rejects: Rejects, survey_id: str, question_id: str, since: float, until: float,
         scale: Scale = NPS_SCALE):
    scores = choice_scores(client, survey_id, question_id, scale)
    parse_time = TimeParser()
    url = client.url(f"/v3/surveys/{survey_id}/responses/bulk")
    params = {"per_page": PER_PAGE, "start_created_at": iso_time(since), "end_created_at": iso_time(until)}
    page = 1
    while url:
        body = client.get_json(url, params=params, what=f"page {page}")
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise client.unexpected("an object with data")
        for index, response in enumerate(body["data"]):
            where = f"page {page} item {index + 1}"
            choice = _answer(response, question_id)
            if choice is None:
                rejects.add(f"no answer to question {question_id}", where)
                continue
            if choice not in scores:
                rejects.add(f"choice not on the {scale} scale", where)
                continue
            when = dated((response or {}).get("date_created"), parse_time, rejects, where)
            if when is not None:
                yield when, scores[choice]
        url = ((body.get("links") or {}).get("next")) or None
        if url:
            client.follow(url)
        params = None           # the next link carries its own query
        page += 1


def _answer(response, question_id: str) -> str | None:
    for page in (response or {}).get("pages") or []:
        for question in (page or {}).get("questions") or []:
            if str(question.get("id")) == str(question_id):
                for answer in question.get("answers") or []:
                    if isinstance(answer, dict) and answer.get("choice_id") is not None:
                        return str(answer["choice_id"])
    return None
