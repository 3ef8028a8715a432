"""The floor: a bare Django view running the benchmark's SQL, nothing else."""

import os

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

TABLE = os.environ["KILN_BENCH_TABLE"]  # "app_1"."items", already quoted


@csrf_exempt
def floor(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {TABLE} WHERE category = %s ORDER BY score DESC LIMIT 20",  # noqa: S608 - fixed text
            [request.POST.get("category", "c1")],
        )
        columns = [c.name for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return JsonResponse({"payload": rows}, json_dumps_params={"default": str})


urlpatterns = [path("floor", floor)]
