"""SurveyMonkey: a survey's rating or NPS question, Bearer token.

Read (https://api.surveymonkey.com/v3/docs, "Surveys" and "Survey Responses"):
- GET /v3/surveys/{id}/details: `pages[].questions[]` with `id` and `answers.choices[]` (`id`,
  `text`, `position`): the question's choices map choice_id to the scale (the choice's text
  when it is a score, else its position counted from the scale's low end). The question's
  presence here is the listing that tells a skipped question from a wrong --question-id.
- GET /v3/surveys/{id}/responses/bulk with per_page (100), start_created_at / end_created_at,
  paged until `links.next` is absent: each response's `date_created`, and under
  `pages[].questions[]` (`id`) its `answers[]` (`choice_id`).
A response leaves out the questions its respondent skipped: an optional question left
unanswered is counted apart (skipped), never as a reject. A response without `date_created` or
`pages`, or answers to the question without `choice_id`, in every record of a page is not the
documented shape (sources/fields.py).
"""

from __future__ import annotations

from cxcheck.runtime.times import TimeParser, iso_time
from cxcheck.sources.base import ApiSource, SourceError
from cxcheck.sources.fields import Fields
from cxcheck.sources.rows import Rejects, dated
from cxcheck.sources.scores import NPS_SCALE, Scale, parse_score

PER_PAGE = 100


class SurveyMonkey(ApiSource):
    name = "SurveyMonkey"
    option, metavar = "--surveymonkey", "SURVEY_ID"
    help = "a SurveyMonkey survey (with --question-id)"
    default_api = "https://api.surveymonkey.com"
    reports_skipped = True
    needs, needs_why = ("--question-id",), "the survey question"

    @classmethod
    def add_arguments(cls, options):
        options.add("--question-id", metavar="QID", help="--surveymonkey: the rating or NPS question")

    def read_responses(self, scale: Scale, since: float, until: float, rejects: Rejects):
        return read(self.client, rejects, self.value, self.args.question_id, since, until, scale)


def choice_scores(client, survey_id: str, question_id: str, scale: Scale = NPS_SCALE) -> dict[str, int]:
    details = client.get_json(client.url(f"/v3/surveys/{survey_id}/details"), what="survey details")
    pages = client.field(details, "pages", list, "the survey details")
    for page in pages:
        for question in (page or {}).get("questions") or [] if isinstance(page, dict) else []:
            if not isinstance(question, dict) or str(question.get("id")) != str(question_id):
                continue
            choices = ((question.get("answers") or {}).get("choices")) or []
            scores = {}
            for choice in choices if isinstance(choices, list) else []:
                if not isinstance(choice, dict):
                    continue
                # A rating question's choices read their scores (0..10 for NPS); failing that, their
                # position 1.. counts up from the scale's low end.
                score = parse_score(choice.get("text"), scale)
                position = choice.get("position")
                if score is None and isinstance(position, int) and not isinstance(position, bool):
                    score = scale.low + position - 1 if 1 <= position <= scale.high - scale.low + 1 else None
                if score is not None and "id" in choice:
                    scores[str(choice["id"])] = score
            if not scores:
                raise SourceError(f"SurveyMonkey question {question_id} has no {scale} choices (answers.choices "
                                  "with id and text or position)")
            return scores
    raise SourceError(f"SurveyMonkey survey {survey_id} has no question {question_id} (its details list none "
                      "by that id): check --question-id")


def read(client, rejects: Rejects, survey_id: str, question_id: str, since: float, until: float,
         scale: Scale = NPS_SCALE):
    scores = choice_scores(client, survey_id, question_id, scale)   # the question exists: absent = skipped
    parse_time = TimeParser()
    url = client.url(f"/v3/surveys/{survey_id}/responses/bulk")
    params = {"per_page": PER_PAGE, "start_created_at": iso_time(since), "end_created_at": iso_time(until)}
    responses = Fields("SurveyMonkey", ("date_created", "pages"), "responses")
    answers = Fields("SurveyMonkey", ("choice_id",), f"answers to question {question_id}",
                     advice="an API or configuration mismatch (--question-id names a question without choices?), "
                            "not customer data")
    page = 1
    while url:
        body = client.get_json(url, params=params, what=f"page {page}")
        where = f"page {page} of the responses"
        for index, response in enumerate(client.field(body, "data", list, where)):
            item = f"page {page} item {index + 1}"
            if not isinstance(response, dict):
                rejects.add("not a JSON object", item)
                continue
            responses.saw(response)
            given = _answers(response, question_id)
            if given is None:
                rejects.skip(item)          # the respondent skipped it (or left before it)
                continue
            choice = None
            for answer in given:
                answers.saw(answer)
                if isinstance(answer, dict) and answer.get("choice_id") is not None:
                    choice = str(answer["choice_id"])
                    break
            if choice is None:
                rejects.add(f"answer to question {question_id} without a choice", item)
                continue
            if choice not in scores:
                rejects.add(f"choice not on the {scale} scale", item)
                continue
            when = dated(response.get("date_created"), parse_time, rejects, item)
            if when is not None:
                yield when, scores[choice]
        responses.check(where)
        answers.check(where)
        url = ((body.get("links") or {}).get("next")) or None
        if url:
            client.follow(url)
        params = None           # the next link carries its own query
        page += 1


def _answers(response, question_id: str) -> list | None:
    """The answers a response gives to the question; None when the question is not in it."""
    for page in response.get("pages") or []:
        for question in (page or {}).get("questions") or [] if isinstance(page, dict) else []:
            if isinstance(question, dict) and str(question.get("id")) == str(question_id):
                answers = question.get("answers")
                return answers if isinstance(answers, list) else []
    return None
