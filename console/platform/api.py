"""Staff-only endpoints: app switches (KScript enabled, suspended) and users."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from console.accounts.services import create_user, update_user
from console.apps import services
from console.apps.models import App, Role


class PlatformAppSerializer(serializers.ModelSerializer):
    owners = serializers.SerializerMethodField()

    class Meta:
        model = App
        fields = ["id", "name", "api_key", "suspended", "kscript_enabled", "owners", "created_at"]
        read_only_fields = fields

    def get_owners(self, app: App) -> list[str]:
        return [m.user.username for m in app.memberships.all() if m.role == Role.OWNER]


class FlagsSerializer(serializers.Serializer):
    kscript_enabled = serializers.BooleanField(required=False)
    suspended = serializers.BooleanField(required=False)


class PlatformUserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField(allow_blank=True, default="")
    password = serializers.CharField(write_only=True, max_length=1024, trim_whitespace=False)
    is_staff = serializers.BooleanField(default=False)
    is_active = serializers.BooleanField(read_only=True)
    date_joined = serializers.DateTimeField(read_only=True)

    def validate_username(self, value: str) -> str:
        return _checked_username(value)


class UpdatePlatformUserSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, required=False)
    email = serializers.EmailField(allow_blank=True, required=False)
    is_staff = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)

    def validate_username(self, value: str) -> str:
        return _checked_username(value)


def _checked_username(value: str) -> str:
    if not re.fullmatch(r"[\w.@+-]+", value.strip()):
        raise serializers.ValidationError("Use letters, digits and @ . + - _ only.")
    return value.strip()


def _apps() -> list[App]:
    return list(App.objects.prefetch_related("memberships__user").order_by("name", "id"))


class PlatformAppListView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(responses=PlatformAppSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(PlatformAppSerializer(_apps(), many=True).data)


class PlatformAppDetailView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(request=FlagsSerializer, responses=PlatformAppSerializer)
    def patch(self, request: Request, app_id: int) -> Response:
        app = get_object_or_404(App, pk=app_id)
        data = FlagsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.set_platform_flags(app, **data.validated_data)
        app = App.objects.prefetch_related("memberships__user").get(pk=app.pk)
        return Response(PlatformAppSerializer(app).data)


class PlatformUserListView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(responses=PlatformUserSerializer(many=True))
    def get(self, request: Request) -> Response:
        users = get_user_model().objects.order_by("username")
        return Response(PlatformUserSerializer(users, many=True).data)

    @extend_schema(request=PlatformUserSerializer, responses={201: PlatformUserSerializer})
    def post(self, request: Request) -> Response:
        data = PlatformUserSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = create_user(**data.validated_data)
        return Response(PlatformUserSerializer(user).data, status=status.HTTP_201_CREATED)


class PlatformUserDetailView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(request=UpdatePlatformUserSerializer, responses=PlatformUserSerializer)
    def patch(self, request: Request, user_id: int) -> Response:
        user = get_object_or_404(get_user_model(), pk=user_id)
        data = UpdatePlatformUserSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = update_user(user, actor=request.user, **data.validated_data)
        return Response(PlatformUserSerializer(user).data)
