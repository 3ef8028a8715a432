"""Errors the console API raises that DRF has no ready-made class for."""

from rest_framework import status
from rest_framework.exceptions import APIException


class BadRequest(APIException):
    """A 400 whose body is {"detail": "..."} (not a field error)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Bad request."
