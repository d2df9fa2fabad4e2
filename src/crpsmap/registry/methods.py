"""The HTTP methods the registry's pages answer: GET, HEAD and POST. Anything else (OPTIONS, TRACE, PUT,
DELETE, PATCH...) gets 405 before a view runs, so that no page is served to a method it was not written
for (found by the dynamic scan, docs/security-scans.md). The JSON API answers methods itself."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

PAGE_METHODS = ("GET", "HEAD", "POST")
API_PREFIX = "/api/"


class PageMethodsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in PAGE_METHODS and not request.path.startswith(API_PREFIX):
            return HttpResponseNotAllowed(PAGE_METHODS)
        return self.get_response(request)
