"""The rating web application (Flask): the rater's page, a small JSON API, and the results page.

Blinding: the page and every API response a rater sees name responses only by opaque keys and carry
no model name. Model names appear only on /results, which needs the token printed to the person who
started the server. Nothing a request sends names a file: ratings go to the one store given here.
"""
from __future__ import annotations

import secrets
from typing import Any, Collection, Optional
from urllib.parse import urlsplit

from .blinding import RatingSet
from .levels import LEVELS
from .raters import check_rater_name
from .store import RatingStore, check_rating

INSTALL_HINT = 'the rating server needs Flask: pip install "selfinstruct[rate]"'
MAX_BODY_BYTES = 4096  # a rating is {"item": key, "rating": letter}: tens of bytes
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def create_app(
    rating_set: RatingSet,
    store: RatingStore,
    results_token: Optional[str] = None,
    allowed_hosts: Optional[Collection[str]] = None,
) -> Any:
    """The Flask app serving `rating_set` and appending ratings to `store`.

    `results_token`: the secret that opens /results (which names models); None serves no results page.
    `allowed_hosts`: host names the Host header may carry (None: any). A server bound to the loopback
    address should allow only loopback names, so a web page that rebinds its own domain name to
    127.0.0.1 cannot read or rate through the rater's browser.
    """
    try:
        import flask
        from werkzeug.exceptions import HTTPException
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    from .results_files import render_results_page
    from .results import summarize

    app = flask.Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False

    def rater_or_400(name: str) -> str:
        try:
            return check_rater_name(name)
        except ValueError as error:
            flask.abort(400, str(error))

    def response_or_404(key: str) -> Any:
        try:
            return rating_set.response(key)
        except KeyError:
            flask.abort(404, f"unknown item {key[:40]!r} (if the rating server was restarted, reload the page)")

    @app.errorhandler(HTTPException)
    def json_error(error: HTTPException) -> Any:
        description = error.description
        if error.code == 413:
            description = f"request body too large: at most {MAX_BODY_BYTES} bytes"
        return flask.jsonify(error=description, status=error.code), error.code

    @app.before_request
    def check_host() -> None:
        if allowed_hosts is not None:
            try:
                host = urlsplit("//" + flask.request.host).hostname
            except ValueError:
                host = None
            if host not in allowed_hosts:
                flask.abort(400, f"unexpected Host {flask.request.host[:80]!r}: open the address the server printed")

    @app.after_request
    def secure(response: Any) -> Any:
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.get("/")
    def page() -> Any:
        return flask.render_template("rate.html", levels=LEVELS, total=len(rating_set))

    @app.get("/api/raters/<rater>/queue")
    def queue(rater: str) -> Any:
        rater = rater_or_400(rater)
        items = []
        for key in rating_set.order(rater):
            response = rating_set.response(key)
            items.append({"key": key, "rating": store.rating_of(rater, response.item, response.model)})
        return flask.jsonify(rater=rater, total=len(items), items=items)

    @app.get("/api/items/<key>")
    def item(key: str) -> Any:
        response = response_or_404(key)
        return flask.jsonify(key=key, instruction=response.instruction, input=response.input,
                             response=response.response)

    @app.post("/api/raters/<rater>/ratings")
    def rate(rater: str) -> Any:
        rater = rater_or_400(rater)
        if not flask.request.is_json:
            flask.abort(415, 'send the rating as JSON: {"item": KEY, "rating": "A"|"B"|"C"|"D"}')
        body = flask.request.get_json(silent=True)
        if not isinstance(body, dict) or set(body) != {"item", "rating"}:
            flask.abort(400, 'the body must be a JSON object with exactly the fields "item" and "rating"')
        if not isinstance(body["item"], str):
            flask.abort(400, '"item" must be a string key')
        try:
            rating = check_rating(body["rating"])
        except ValueError as error:
            flask.abort(400, str(error))
        response = response_or_404(body["item"])
        try:
            store.add(rater, response.item, response.model, rating)
        except (OSError, RuntimeError) as error:  # disk full, store closed: say so, never claim it saved
            flask.abort(500, f"the rating was not saved: {error}")
        return flask.jsonify(item=body["item"], rating=rating)

    @app.get("/results")
    def results() -> Any:
        token = flask.request.args.get("token", "")
        if results_token is None:
            flask.abort(404, "this server does not show results: run `selfinstruct rate-results` on the ratings file")
        if not secrets.compare_digest(token.encode("utf-8"), results_token.encode("utf-8")):
            flask.abort(403, "the results page names the models: open it with the link the server printed")
        return render_results_page(summarize(store.ratings(), rating_set.models))

    return app
